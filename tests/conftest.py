import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The one helper library (tools/) serves the Makefile and the tests alike.
sys.path.insert(0, str(REPO / "tools"))
