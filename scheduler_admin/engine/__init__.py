"""The scheduling engine: claim, fire, dispatch, execute, retry, leases.

No request objects and no templates here: views, the API, commands and tasks
call these functions.
"""
