"""The CRM side of offhook: addresses, activities, services, projects and the call history.

The modules here hold what the CRM pages do (queries, form reading, validation, saving);
`offhook.web.pages` only maps requests to them and renders the result.
"""
