"""Release governance: the state machine, who may do what, and the workflow rules.
No Flask here: the web layer and the command line call these functions."""
