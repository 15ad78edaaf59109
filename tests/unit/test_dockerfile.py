"""deploy/Dockerfile read statically (no image is built here): a slim Python 3.11 base, a
non-root numeric user, the package without its `embedded` extra, a health check on /health,
and a command `orderhub` accepts."""

from __future__ import annotations

import re

from app.http.app import create_app
from app.settings import Settings
from tests.helpers.deploy_files import Instruction, dockerfile, final_stage, orderhub_command_error
from tests.helpers.paths import DEPLOY

INSTRUCTIONS = dockerfile(DEPLOY / "Dockerfile")
FINAL = final_stage(INSTRUCTIONS)


def last(keyword: str) -> Instruction:
    found = [i for i in FINAL if i.keyword == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def test_every_stage_is_slim_python_311() -> None:
    images = [i.arguments.split()[0] for i in INSTRUCTIONS if i.keyword == "FROM"]
    assert images and all(image == "python:3.11-slim" for image in images), images


def test_the_process_runs_as_a_numeric_non_root_user() -> None:
    user = last("USER").arguments
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user}: runAsNonRoot needs a numeric uid"
    assert not gid or (gid.isdigit() and int(gid) != 0), f"USER {user}"
    assert last("USER").line > max(i.line for i in FINAL if i.keyword == "RUN")


def test_orderhub_is_installed_without_the_embedded_extra() -> None:
    installs = [i.arguments for i in INSTRUCTIONS if i.keyword == "RUN" and "pip" in i.arguments]
    assert installs
    for command in installs:
        assert "embedded" not in command and "[" not in command, command
        assert not re.search(r"\s-e\s|--editable", command), f"an editable install: {command}"
    assert any("pip install" in command for command in installs)


def test_the_health_check_asks_the_apis_health_route() -> None:
    check = last("HEALTHCHECK")
    argv = check.exec_form()
    assert argv is not None, f"HEALTHCHECK at line {check.line} is not in exec form"
    assert "/health" in " ".join(argv)
    routes = {r.resource.canonical for r in create_app(Settings.from_env({})).router.routes()}
    assert "/health" in routes


def test_the_command_is_one_orderhub_accepts() -> None:
    cmd = last("CMD").exec_form()
    assert cmd is not None, "CMD is not in exec form (signals would go to a shell)"
    assert not [i for i in FINAL if i.keyword == "ENTRYPOINT"]
    assert orderhub_command_error(cmd) is None, orderhub_command_error(cmd)
    assert orderhub_command_error(["orderhub", "no-such-command"]) is not None


def test_the_api_listens_beyond_loopback_on_the_exposed_port() -> None:
    env = " ".join(i.arguments for i in FINAL if i.keyword == "ENV")
    assert "HOST=0.0.0.0" in env
    port = re.search(r"\bPORT=(\d+)", env)
    assert port and last("EXPOSE").arguments.split()[0] == port.group(1)
