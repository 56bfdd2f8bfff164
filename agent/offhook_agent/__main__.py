import sys

from offhook_agent.cli import main

sys.exit(main())
