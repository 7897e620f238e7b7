"""python -m tutor.cli"""

from tutor.cli.main import run

run()
