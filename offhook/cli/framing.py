"""The texts click and typer write around offhook's own in help and errors ("Usage:", "Options",
"Missing argument"…), named here so that offhook's catalogue holds them (the extractor reads only
offhook) and translates them: `offhook.cli.main` serves the catalogue to the standard library's
`gettext`, which click and typer ask. The texts must be exactly theirs; texts only a programmer
sees (wrong parameter declarations, shell completion set-up) are left out.
"""

from __future__ import annotations

from offhook.settings.language import N_, ngettext

FRAMING = (
    # help
    N_("Usage:"),
    N_("Options"),
    N_("Arguments"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("default: {default}"),
    N_("[default: {}]"),
    N_("required"),
    N_("[required]"),
    N_("env var: {var}"),
    N_("[env var: {}]"),
    N_("deprecated"),
    N_("(deprecated) "),
    N_("(dynamic)"),
    # errors
    N_("Error"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("Missing command."),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Option {name!r} does not take a value."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    N_("Could not open file {filename!r}: {message}"),
    N_("unknown error"),
    # prompts
    N_("Aborted!"),
    N_("Aborted."),
    N_("Do you want to continue?"),
    N_("Confirm the action without prompting."),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Error: invalid input"),
)


def _plurals() -> None:  # pragma: no cover - never called: marks click's plural texts
    ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 1)
    ngettext(
        "Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", 1
    )
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1)
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1)
