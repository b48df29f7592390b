from __future__ import annotations

from envctl.cli import main

main()
