"""offhook: a telephony extension for CRMs.

A call that rings or is dialled on a user's line appears live in that user's telephony journal,
the caller is found among the CRM's addresses, and the call becomes an activity or a service.
"""

__version__ = "0.1.0"
