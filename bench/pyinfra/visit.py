"""The bench visit: the same five tasks as bench/seibi/playbooks/visit.yml and bench/ansible/visit.yml."""

from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.operations import files, server

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

server.shell(
    name="Inventory check",
    commands=["uname -sr; dpkg-query -W -f='${Version}\\n' openssh-server"],
)
files.template(
    name="Settings file from a template",
    src=str(TEMPLATES / "settings.conf.j2"),
    dest="/etc/bench-settings.conf",
    mode="644",
    terminal={"id": host.name},
    ntp_servers=["ntp1.city.example", "ntp2.city.example"],
    screen_lock_minutes=10,
    log_server="log01.city.example",
)
files.put(
    name="Software version file",
    src=StringIO("bench-app 2.4.1\n"),
    dest="/opt/bench-app.version",
    mode="644",
)
files.put(
    name="Patch-level file",
    src=StringIO("2026-10\n"),
    dest="/etc/bench-patch-level",
    mode="644",
)
server.shell(
    name="Test account password (chpasswd)",
    commands=["chpasswd"],
    _stdin="benchuser:Bench-Visit-2026-pw\n",
)
