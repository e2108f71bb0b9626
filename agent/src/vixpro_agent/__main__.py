from __future__ import annotations

import sys

from vixpro_agent.cli import main

sys.exit(main())
