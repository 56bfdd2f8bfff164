"""`python -m offhook` is the `offhook` command."""

from offhook.cli import main

main()
