"""`python -m offhook` is the `offhook` command."""

from offhook.cli.main import main

main()
