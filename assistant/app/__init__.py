"""The two front doors: the command line (cli, cli_library, cli_eval, cli_shared,
terminal, progress) and the chat page (ui, ui_library, ui_uploads, session,
live, auth). Nothing imports this layer.
"""
