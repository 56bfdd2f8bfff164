"""offhook-agent: brings a line that only a Windows PC can see (a TAPI line) to an offhook
server, over one outgoing WebSocket connection."""

__version__ = "0.1.0"
