/* A stand-in tapi32.dll for tests: the real TAPI 2.x entry points, built against the SDK
 * header (mingw-w64's tapi.h), replaying a scripted message sequence instead of a vendor's
 * driver.
 *
 * The agent loads it instead of Windows' tapi32.dll (`offhook-agent --dll`). Environment:
 *   OFFHOOK_TAPI_SCRIPT  the script (one directive per line, UTF-8):
 *     device <permanent id> <name>      a line device; devices come first
 *     existing <hcall> <state>          a call the line has when it is opened (with devices,
 *                                       and `info` lines, before anything else)
 *     info <hcall> <call id> <origin> <caller flags> <caller>|<name>|<called>|<name>|<connected>|<name>
 *     msg <message> <device> <param1> <param2> <param3>   queue a LINEMESSAGE
 *     wait_open <count>                 until lineOpenW has succeeded <count> times
 *     wait_dial <hcall>                 until lineMakeCallW; its call becomes <hcall>, LINE_REPLY ok
 *     wait_init <count>                 until lineInitializeExW has been called <count> times
 *     sleep <ms>
 *   OFFHOOK_TAPI_LOG     every call into the DLL, one line each (what the tests assert on).
 * Line device i is opened as hLine 0x10000 + i. Buffers honour dwTotalSize as TAPI does: too
 * small gives the fixed part with dwNeededSize set.
 */
#include <windows.h>
#include <tapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVICES 8
#define MAX_CALLS 64
#define MAX_QUEUE 1024
#define MAX_TEXT 1024

typedef struct { DWORD permanent; WCHAR name[MAX_TEXT]; } Device;
typedef struct {
    DWORD hcall, call_id, origin, caller_flags, state, mode, exists, used;
    WCHAR text[6][MAX_TEXT]; /* caller, caller name, called, called name, connected, name */
} Call;

static Device devices[MAX_DEVICES];
static DWORD num_devices;
static Call calls[MAX_CALLS];
static LINEMESSAGE queue[MAX_QUEUE];
static DWORD queue_head, queue_len;
static CRITICAL_SECTION lock;
static HANDLE message_event, opened_event, dialled_event, init_event;
static volatile LONG opens, inits, shutdown_flag, script_started;
static volatile LONG request_counter = 0x100;
static LPHCALL dial_target;
static DWORD dial_request;
static char script_path[MAX_PATH], log_path[MAX_PATH];
static FILE *script;

static void say(const char *format, ...) {
    FILE *out;
    va_list args;
    if (!log_path[0]) return;
    EnterCriticalSection(&lock);
    out = fopen(log_path, "a");
    if (out) {
        va_start(args, format);
        vfprintf(out, format, args);
        va_end(args);
        fputc('\n', out);
        fclose(out);
    }
    LeaveCriticalSection(&lock);
}

static void utf8_to_wide(const char *text, WCHAR *out) {
    if (!MultiByteToWideChar(CP_UTF8, 0, text, -1, out, MAX_TEXT)) out[0] = 0;
}

static Call *call_of(DWORD hcall, int create) {
    int i;
    for (i = 0; i < MAX_CALLS; i++) if (calls[i].used && calls[i].hcall == hcall) return &calls[i];
    if (!create) return NULL;
    for (i = 0; i < MAX_CALLS; i++) if (!calls[i].used) {
        memset(&calls[i], 0, sizeof calls[i]);
        calls[i].used = 1;
        calls[i].hcall = hcall;
        return &calls[i];
    }
    return NULL;
}

static void post(DWORD message, DWORD device, DWORD_PTR p1, DWORD_PTR p2, DWORD_PTR p3) {
    LINEMESSAGE *m;
    EnterCriticalSection(&lock);
    if (queue_len < MAX_QUEUE) {
        m = &queue[(queue_head + queue_len) % MAX_QUEUE];
        memset(m, 0, sizeof *m);
        m->hDevice = device; m->dwMessageID = message;
        m->dwParam1 = p1; m->dwParam2 = p2; m->dwParam3 = p3;
        queue_len++;
        if (message == LINE_CALLSTATE) {
            Call *call = call_of(device, 1);
            if (call) { call->state = (DWORD)p1; call->mode = (DWORD)p2; call->exists = p1 != LINECALLSTATE_IDLE; }
        }
        SetEvent(message_event);
    }
    LeaveCriticalSection(&lock);
}

static void wait_count(volatile LONG *counter, HANDLE event, LONG count) {
    while (*counter < count) WaitForSingleObject(event, 100);
}

static void info_line(char *rest) {
    unsigned long hcall, call_id, origin, flags;
    int consumed = 0, i;
    char *part, *next;
    Call *call;
    if (sscanf(rest, "%lu %lu %lu %lu %n", &hcall, &call_id, &origin, &flags, &consumed) < 4) return;
    EnterCriticalSection(&lock);
    call = call_of(hcall, 1);
    if (call) {
        call->call_id = call_id; call->origin = origin; call->caller_flags = flags;
        part = rest + consumed;
        for (i = 0; i < 6; i++) {
            next = part ? strchr(part, '|') : NULL;
            if (next) *next = 0;
            utf8_to_wide(part ? part : "", call->text[i]);
            part = next ? next + 1 : NULL;
        }
    }
    LeaveCriticalSection(&lock);
}

static DWORD WINAPI run_script(LPVOID unused) {
    char line[4 * MAX_TEXT];
    unsigned long a, b, c, d, e;
    (void)unused;
    while (fgets(line, sizeof line, script)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "msg ", 4) && sscanf(line + 4, "%lu %lu %lu %lu %lu", &a, &b, &c, &d, &e) == 5)
            post(a, b, c, d, e);
        else if (!strncmp(line, "info ", 5)) info_line(line + 5);
        else if (!strncmp(line, "sleep ", 6)) Sleep(atoi(line + 6));
        else if (!strncmp(line, "wait_open ", 10)) wait_count(&opens, opened_event, atol(line + 10));
        else if (!strncmp(line, "wait_init ", 10)) wait_count(&inits, init_event, atol(line + 10));
        else if (!strncmp(line, "wait_dial ", 10)) {
            a = strtoul(line + 10, NULL, 10);
            WaitForSingleObject(dialled_event, INFINITE);
            EnterCriticalSection(&lock);
            if (dial_target) *dial_target = a;
            dial_target = NULL;
            LeaveCriticalSection(&lock);
            post(LINE_REPLY, 0, dial_request, 0, 0);
        }
    }
    say("script done");
    return 0;
}

static void load_devices(void) {
    char line[4 * MAX_TEXT];
    unsigned long a, b;
    int consumed;
    long position;
    script = fopen(script_path, "r");
    if (!script) return;
    for (;;) {
        position = ftell(script);
        if (!fgets(line, sizeof line, script)) break;
        line[strcspn(line, "\r\n")] = 0;
        consumed = 0;
        if (!strncmp(line, "device ", 7) && num_devices < MAX_DEVICES &&
            sscanf(line + 7, "%lu %n", &a, &consumed) >= 1) {
            devices[num_devices].permanent = a;
            utf8_to_wide(line + 7 + consumed, devices[num_devices].name);
            num_devices++;
        } else if (!strncmp(line, "existing ", 9) && sscanf(line + 9, "%lu %lu", &a, &b) == 2) {
            Call *call = call_of(a, 1);
            if (call) { call->state = b; call->exists = 1; }
        } else if (!strncmp(line, "info ", 5)) {
            info_line(line + 5);
        } else {
            fseek(script, position, SEEK_SET);
            break;
        }
    }
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved) {
    (void)instance; (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        InitializeCriticalSection(&lock);
        message_event = CreateEventW(NULL, TRUE, FALSE, NULL);
        opened_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        dialled_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        init_event = CreateEventW(NULL, FALSE, FALSE, NULL);
        if (!GetEnvironmentVariableA("OFFHOOK_TAPI_SCRIPT", script_path, MAX_PATH)) script_path[0] = 0;
        if (!GetEnvironmentVariableA("OFFHOOK_TAPI_LOG", log_path, MAX_PATH)) log_path[0] = 0;
        load_devices();
    }
    return TRUE;
}

LONG WINAPI lineInitializeExW(LPHLINEAPP app, HINSTANCE instance, LINECALLBACK callback,
                              LPCWSTR name, LPDWORD num_devs, LPDWORD version,
                              LPLINEINITIALIZEEXPARAMS params) {
    (void)instance; (void)callback; (void)name;
    if (!params || params->dwTotalSize < sizeof(LINEINITIALIZEEXPARAMS)) return LINEERR_STRUCTURETOOSMALL;
    if (params->dwOptions != LINEINITIALIZEEXOPTION_USEEVENT) return LINEERR_INVALPARAM;
    say("lineInitializeExW version=%08lx", (unsigned long)*version);
    InterlockedExchange(&shutdown_flag, 0);
    *app = 0x4242;
    *num_devs = num_devices;
    params->Handles.hEvent = message_event;
    params->dwUsedSize = sizeof(LINEINITIALIZEEXPARAMS);
    InterlockedIncrement(&inits);
    SetEvent(init_event);
    if (script && !InterlockedExchange(&script_started, 1))
        CloseHandle(CreateThread(NULL, 0, run_script, NULL, 0, NULL));
    return 0;
}

LONG WINAPI lineNegotiateAPIVersion(HLINEAPP app, DWORD device, DWORD low, DWORD high,
                                    LPDWORD version, LPLINEEXTENSIONID ext) {
    (void)app; (void)low;
    if (device >= num_devices) return LINEERR_BADDEVICEID;
    *version = high < 0x00030001 ? high : 0x00030001;
    memset(ext, 0, sizeof *ext);
    return 0;
}

LONG WINAPI lineGetDevCapsW(HLINEAPP app, DWORD device, DWORD version, DWORD ext, LPLINEDEVCAPS caps) {
    DWORD size, total;
    (void)app; (void)version; (void)ext;
    if (device >= num_devices) return LINEERR_BADDEVICEID;
    if (caps->dwTotalSize < sizeof(LINEDEVCAPS)) return LINEERR_STRUCTURETOOSMALL;
    total = caps->dwTotalSize;
    size = (DWORD)(wcslen(devices[device].name) + 1) * sizeof(WCHAR);
    memset(caps, 0, sizeof(LINEDEVCAPS));
    caps->dwTotalSize = total;
    caps->dwNeededSize = sizeof(LINEDEVCAPS) + size;
    caps->dwUsedSize = sizeof(LINEDEVCAPS);
    caps->dwPermanentLineID = devices[device].permanent;
    caps->dwStringFormat = STRINGFORMAT_UNICODE;
    caps->dwNumAddresses = 1;
    caps->dwMediaModes = LINEMEDIAMODE_INTERACTIVEVOICE;
    if (total >= caps->dwNeededSize) {
        caps->dwLineNameSize = size;
        caps->dwLineNameOffset = sizeof(LINEDEVCAPS);
        memcpy((BYTE *)caps + sizeof(LINEDEVCAPS), devices[device].name, size);
        caps->dwUsedSize = caps->dwNeededSize;
    }
    return 0;
}

LONG WINAPI lineOpenW(HLINEAPP app, DWORD device, LPHLINE line, DWORD version, DWORD ext,
                      DWORD_PTR instance, DWORD privileges, DWORD media, LPLINECALLPARAMS params) {
    (void)app; (void)version; (void)ext; (void)instance; (void)params;
    if (device >= num_devices) return LINEERR_BADDEVICEID;
    *line = 0x10000 + device;
    say("lineOpenW device=%lu privileges=%lu media=%lu", (unsigned long)device,
        (unsigned long)privileges, (unsigned long)media);
    InterlockedIncrement(&opens);
    SetEvent(opened_event);
    return 0;
}

LONG WINAPI lineGetMessage(HLINEAPP app, LPLINEMESSAGE message, DWORD timeout) {
    (void)app;
    for (;;) {
        EnterCriticalSection(&lock);
        if (shutdown_flag) { LeaveCriticalSection(&lock); return LINEERR_INVALAPPHANDLE; }
        if (queue_len) {
            *message = queue[queue_head];
            queue_head = (queue_head + 1) % MAX_QUEUE;
            if (!--queue_len) ResetEvent(message_event);
            LeaveCriticalSection(&lock);
            return 0;
        }
        LeaveCriticalSection(&lock);
        if (WaitForSingleObject(message_event, timeout) == WAIT_TIMEOUT) return LINEERR_OPERATIONFAILED;
    }
}

static void put_text(LPLINECALLINFO info, DWORD total, DWORD *used, const WCHAR *text,
                     DWORD *size_field, DWORD *offset_field) {
    DWORD size = (DWORD)(wcslen(text) + 1) * sizeof(WCHAR);
    if (!text[0]) return;
    if (*used + size <= total) {
        memcpy((BYTE *)info + *used, text, size);
        *size_field = size;
        *offset_field = *used;
        *used += size;
    }
    info->dwNeededSize += size;
}

LONG WINAPI lineGetCallInfoW(HCALL hcall, LPLINECALLINFO info) {
    DWORD total, used = sizeof(LINECALLINFO);
    Call *call;
    if (info->dwTotalSize < sizeof(LINECALLINFO)) return LINEERR_STRUCTURETOOSMALL;
    EnterCriticalSection(&lock);
    call = call_of(hcall, 0);
    if (!call) { LeaveCriticalSection(&lock); return LINEERR_INVALCALLHANDLE; }
    total = info->dwTotalSize;
    memset(info, 0, sizeof(LINECALLINFO));
    info->dwTotalSize = total;
    info->dwNeededSize = sizeof(LINECALLINFO);
    info->hLine = 0x10000;
    info->dwCallID = call->call_id;
    info->dwOrigin = call->origin;
    info->dwCallerIDFlags = call->caller_flags;
    info->dwCalledIDFlags = call->text[2][0] ? LINECALLPARTYID_ADDRESS : LINECALLPARTYID_UNKNOWN;
    put_text(info, total, &used, call->text[0], &info->dwCallerIDSize, &info->dwCallerIDOffset);
    put_text(info, total, &used, call->text[1], &info->dwCallerIDNameSize, &info->dwCallerIDNameOffset);
    put_text(info, total, &used, call->text[2], &info->dwCalledIDSize, &info->dwCalledIDOffset);
    put_text(info, total, &used, call->text[3], &info->dwCalledIDNameSize, &info->dwCalledIDNameOffset);
    put_text(info, total, &used, call->text[4], &info->dwConnectedIDSize, &info->dwConnectedIDOffset);
    put_text(info, total, &used, call->text[5], &info->dwConnectedIDNameSize, &info->dwConnectedIDNameOffset);
    info->dwUsedSize = used;
    LeaveCriticalSection(&lock);
    if (info->dwNeededSize > total) say("lineGetCallInfoW hcall=%lu needs=%lu", (unsigned long)hcall, (unsigned long)info->dwNeededSize);
    return 0;
}

LONG WINAPI lineGetCallStatus(HCALL hcall, LPLINECALLSTATUS status) {
    Call *call;
    if (status->dwTotalSize < sizeof(LINECALLSTATUS)) return LINEERR_STRUCTURETOOSMALL;
    EnterCriticalSection(&lock);
    call = call_of(hcall, 0);
    if (!call) { LeaveCriticalSection(&lock); return LINEERR_INVALCALLHANDLE; }
    status->dwNeededSize = status->dwUsedSize = sizeof(LINECALLSTATUS);
    status->dwCallState = call->state;
    status->dwCallStateMode = call->mode;
    status->dwCallPrivilege = LINECALLPRIVILEGE_MONITOR;
    LeaveCriticalSection(&lock);
    return 0;
}

LONG WINAPI lineGetNewCalls(HLINE line, DWORD address, DWORD select, LPLINECALLLIST list) {
    DWORD total, count = 0, i;
    (void)address; (void)select;
    if (list->dwTotalSize < sizeof(LINECALLLIST)) return LINEERR_STRUCTURETOOSMALL;
    total = list->dwTotalSize;
    EnterCriticalSection(&lock);
    list->dwCallsOffset = sizeof(LINECALLLIST);
    for (i = 0; i < MAX_CALLS; i++) {
        if (!calls[i].used || !calls[i].exists) continue;
        if (sizeof(LINECALLLIST) + (count + 1) * sizeof(HCALL) <= total)
            ((HCALL *)((BYTE *)list + sizeof(LINECALLLIST)))[count] = calls[i].hcall;
        count++;
    }
    LeaveCriticalSection(&lock);
    list->dwCallsNumEntries = count;
    list->dwCallsSize = count * sizeof(HCALL);
    list->dwNeededSize = sizeof(LINECALLLIST) + count * sizeof(HCALL);
    list->dwUsedSize = list->dwNeededSize <= total ? list->dwNeededSize : sizeof(LINECALLLIST);
    say("lineGetNewCalls line=%lu calls=%lu", (unsigned long)line, (unsigned long)count);
    return 0;
}

LONG WINAPI lineMakeCallW(HLINE line, LPHCALL hcall, LPCWSTR destination, DWORD country,
                          LPLINECALLPARAMS params) {
    char text[MAX_TEXT];
    (void)country; (void)params;
    if (line < 0x10000 || line >= 0x10000 + num_devices) return LINEERR_INVALLINEHANDLE;
    if (!WideCharToMultiByte(CP_UTF8, 0, destination, -1, text, sizeof text, NULL, NULL)) text[0] = 0;
    EnterCriticalSection(&lock);
    dial_target = hcall;
    dial_request = (DWORD)InterlockedIncrement(&request_counter);
    LeaveCriticalSection(&lock);
    say("lineMakeCallW line=%lu destination=%s", (unsigned long)line, text);
    SetEvent(dialled_event);
    return (LONG)dial_request;
}

static LONG reply_now(const char *what, HCALL hcall) {
    DWORD request = (DWORD)InterlockedIncrement(&request_counter);
    say("%s hcall=%lu", what, (unsigned long)hcall);
    if (!call_of(hcall, 0)) return LINEERR_INVALCALLHANDLE;
    post(LINE_REPLY, 0, request, 0, 0);
    return (LONG)request;
}

LONG WINAPI lineAnswer(HCALL hcall, LPCSTR info, DWORD size) { (void)info; (void)size; return reply_now("lineAnswer", hcall); }
LONG WINAPI lineDrop(HCALL hcall, LPCSTR info, DWORD size) { (void)info; (void)size; return reply_now("lineDrop", hcall); }
LONG WINAPI lineSetCallPrivilege(HCALL hcall, DWORD privilege) { say("lineSetCallPrivilege hcall=%lu privilege=%lu", (unsigned long)hcall, (unsigned long)privilege); return 0; }
LONG WINAPI lineDeallocateCall(HCALL hcall) {
    Call *call;
    say("lineDeallocateCall hcall=%lu", (unsigned long)hcall);
    EnterCriticalSection(&lock);
    call = call_of(hcall, 0);
    if (call) call->exists = 0;
    LeaveCriticalSection(&lock);
    return 0;
}
LONG WINAPI lineClose(HLINE line) { say("lineClose line=%lu", (unsigned long)line); return 0; }
LONG WINAPI lineShutdown(HLINEAPP app) {
    (void)app;
    say("lineShutdown");
    EnterCriticalSection(&lock);
    InterlockedExchange(&shutdown_flag, 1);
    queue_len = 0;
    SetEvent(message_event);
    LeaveCriticalSection(&lock);
    return 0;
}
