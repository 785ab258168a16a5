"""Learners' repositories, written by the tests: the plain, correct solution of all seven tasks
the way learners write it (not this repository's hardened style), and correct solutions in the
other styles learners use, each a change of the plain one. Every one of them must pass.

The API is the statement's own snippet; the page is an original one of this project's (the
curriculum's front-end is a third-party template, which nothing here copies).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

API = """from flask import Flask

app = Flask(__name__)

@app.route('/api/hello')
def hello_world():
    return 'Hello, World!'

if __name__ == '__main__':
    app.run(host='0.0.0.0', port=5252)
"""

API_CORS = API.replace(
    "from flask import Flask\n\napp = Flask(__name__)\n",
    "from flask import Flask\nfrom flask_cors import CORS\n\napp = Flask(__name__)\nCORS(app)\n",
)

BACK_END = """FROM ubuntu:latest
RUN apt-get update
RUN apt-get upgrade -y
RUN apt-get install -y python3 python3-pip
RUN rm /usr/lib/python*/EXTERNALLY-MANAGED
RUN pip3 install flask{cors}
WORKDIR /app
COPY api.py /app/
EXPOSE 5252
CMD ["python3", "api.py"]
"""

FRONT_END = """FROM nginx:latest
COPY softy-pinko-front-end /var/www/html/softy-pinko-front-end
COPY softy-pinko-front-end.conf /etc/nginx/conf.d/default.conf
"""

FRONT_END_CONF = """server {
    listen 9000;
    server_name localhost;

    location / {
        root /var/www/html/softy-pinko-front-end;
        index index.html;
    }
}
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>My Softy Pinko page</title>
</head>
<body>
{heading}  <p>Written for the Softy-Pinko Docker curriculum.</p>
{script}</body>
</html>
"""

SCRIPT = """  <script>
    fetch("{url}")
      .then((response) => response.text())
      .then((text) => {{
        document.getElementById("dynamic-content").textContent = text;
      }});
  </script>
"""

PROXY = """FROM nginx:latest
COPY proxy.conf /etc/nginx/conf.d/default.conf
"""

PROXY_CONF = """server {
    listen 80;

    location / {
        proxy_pass http://front-end:9000;
    }

    location /api {
        proxy_pass http://back-end:5252;
    }
}
"""

COMPOSE_TASK4 = """services:
  back-end:
    build:
      context: ./back-end
      dockerfile: Dockerfile
    image: softy-pinko-back-end:task4
    ports:
      - "5252:5252"
  front-end:
    build:
      context: ./front-end
      dockerfile: Dockerfile
    image: softy-pinko-front-end:task4
    ports:
      - "9000:9000"
    depends_on:
      - back-end
"""

COMPOSE_PROXIED = """services:
  back-end:
    build:
      context: ./back-end
      dockerfile: Dockerfile
    image: softy-pinko-back-end:{task}
  front-end:
    build:
      context: ./front-end
      dockerfile: Dockerfile
    image: softy-pinko-front-end:{task}
    depends_on:
      - back-end
  proxy:
    build:
      context: ./proxy
      dockerfile: Dockerfile
    image: softy-pinko-proxy:{task}
    ports:
      - "80:80"
    depends_on:
      - front-end
      - back-end
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def page(url: str | None) -> str:
    heading = '  <h1 id="dynamic-content"></h1>\n' if url else "  <h1>Softy Pinko</h1>\n"
    return PAGE.format(heading=heading, script=SCRIPT.format(url=url) if url else "")


def back_end(folder: str, cors: bool) -> dict[str, str]:
    return {
        f"{folder}Dockerfile": BACK_END.format(cors=" flask-cors" if cors else ""),
        f"{folder}api.py": API_CORS if cors else API,
    }


def front_end(task: str, url: str | None) -> dict[str, str]:
    return {
        f"{task}/front-end/Dockerfile": FRONT_END,
        f"{task}/front-end/softy-pinko-front-end.conf": FRONT_END_CONF,
        f"{task}/front-end/softy-pinko-front-end/index.html": page(url),
    }


def plain_solution(root: Path) -> Path:
    """All seven tasks, each a copy of the one before with the statement's changes."""
    write(
        root,
        {
            "task0/Dockerfile": (
                "FROM ubuntu:latest\nRUN apt-get update\nRUN apt-get upgrade -y\n"
                'CMD echo "Hello, World!"\n'
            ),
            **back_end("task1/", cors=False),
            **back_end("task2/back-end/", cors=False),
            **front_end("task2", None),
        },
    )
    for task in ("task3", "task4", "task5", "task6"):
        write(root, back_end(f"{task}/back-end/", cors=True))
        url = "http://localhost:5252/api/hello" if task in ("task3", "task4") else "/api/hello"
        write(root, front_end(task, url))
    write(root, {"task4/docker-compose.yml": COMPOSE_TASK4})
    for task in ("task5", "task6"):
        write(
            root,
            {
                f"{task}/proxy/Dockerfile": PROXY,
                f"{task}/proxy/proxy.conf": PROXY_CONF,
                f"{task}/docker-compose.yml": COMPOSE_PROXIED.format(task=task),
            },
        )
    write(root, {"task6/2-api-servers.txt": "docker-compose up --scale back-end=2\n"})
    return root


# --- the other styles --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Style:
    tasks: tuple[str, ...]  # the tasks it changes, and the checker runs
    change: Callable[[Path], None]
    warns: tuple[str, ...] = ()  # checks it is right to warn about (a recommendation)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the style cannot be made: {old!r} is not in {path}"
    path.write_text(text.replace(old, new))


def replace_all(root: Path, tasks: tuple[str, ...], old: str, new: str) -> None:
    for task in tasks:
        for path in (root / task).rglob("*"):
            if path.is_file() and old in path.read_text():
                path.write_text(path.read_text().replace(old, new))


def break_system_packages(root: Path) -> None:
    edit(root / "task1/Dockerfile", "RUN rm /usr/lib/python*/EXTERNALLY-MANAGED\n", "")
    edit(
        root / "task1/Dockerfile",
        "pip3 install flask",
        "pip3 install --break-system-packages flask",
    )


def virtualenv(root: Path) -> None:
    (root / "task1/Dockerfile").write_text(
        "FROM ubuntu:latest\n"
        "RUN apt-get update && apt-get upgrade -y && \\\n"
        "    apt-get install -y python3 python3-pip python3-venv\n"
        "RUN python3 -m venv /opt/venv\n"
        "RUN /opt/venv/bin/pip install flask\n"
        "WORKDIR /app\nCOPY . .\nEXPOSE 5252\n"
        'CMD ["/opt/venv/bin/python", "api.py"]\n'
    )


def ubuntu_24_04_names(root: Path) -> None:
    """Ubuntu 24.04's own package name, and its Python 3.12 by name, into a venv."""
    (root / "task1/Dockerfile").write_text(
        "FROM ubuntu:latest\n"
        "RUN apt-get update && apt-get upgrade -y\n"
        "RUN apt-get install -y python3 python3-pip python3.12-venv\n"
        "RUN python3.12 -m venv /venv && /venv/bin/pip install flask\n"
        "ENV PATH=/venv/bin:$PATH\n"
        "WORKDIR /app\nCOPY api.py .\n"
        'CMD ["python", "api.py"]\n'
    )


def flask_cli_one_layer(root: Path) -> None:
    """One RUN with continuations and a comment inside, `COPY . .`, the flask command."""
    (root / "task1/Dockerfile").write_text(
        "FROM ubuntu\n"
        "RUN apt-get update \\\n"
        "    # everything in one layer\n"
        "    && apt-get -y upgrade \\\n"
        "    && apt-get install -y python3 python3-pip \\\n"
        "    && pip3 install flask --break-system-packages\n"
        "WORKDIR /app\nCOPY . .\n"
        'ENTRYPOINT ["flask", "--app", "api", "run", "--host=0.0.0.0", "--port=5252"]\n'
    )


def windows_editor(root: Path) -> None:
    """Saved on Windows: a byte-order mark and CRLF line ends in the Dockerfile (Docker reads
    both), an exec-form CMD."""
    lines = ["FROM ubuntu:latest", "RUN apt-get update && apt-get upgrade -y"]
    text = "\r\n".join([*lines, 'CMD ["echo", "Hello, World!"]', ""])
    (root / "task0/Dockerfile").write_bytes(b"\xef\xbb\xbf" + text.encode())


def xhr_in_its_own_file(root: Path) -> None:
    """task3: the script in js/app.js with XMLHttpRequest; CORS by decorator."""
    site = root / "task3/front-end/softy-pinko-front-end"
    (site / "index.html").write_text(
        page(None)
        .replace(
            "  <h1>Softy Pinko</h1>\n",
            '  <h1 class="title" id="dynamic-content">Loading…</h1>\n',
        )
        .replace("</body>", '  <script src="js/app.js"></script>\n</body>')
    )
    write(
        site,
        {
            "js/app.js": (
                "var request = new XMLHttpRequest();\n"
                "request.open('GET', 'http://localhost:5252/api/hello');\n"
                "request.onload = function () {\n"
                "  document.getElementById('dynamic-content').innerText = request.responseText;\n"
                "};\nrequest.send();\n"
            )
        },
    )
    (root / "task3/back-end/api.py").write_text(
        API.replace(
            "from flask import Flask\n",
            "from flask import Flask\nfrom flask_cors import cross_origin\n",
        ).replace("@app.route('/api/hello')\n", "@app.route('/api/hello')\n@cross_origin()\n")
    )


def own_service_names(root: Path) -> None:
    """task4 and task5: services named backend and frontend, used alike everywhere; depends_on
    the other way round, in its long form."""
    for task in ("task4", "task5"):
        compose = root / task / "docker-compose.yml"
        compose.write_text(
            compose.read_text()
            .replace("  back-end:", "  backend:")
            .replace("  front-end:", "  frontend:")
            .replace("- back-end", "- backend")
            .replace("- front-end", "- frontend")
        )
    edit(root / "task5/proxy/proxy.conf", "http://front-end:9000", "http://frontend:9000")
    edit(root / "task5/proxy/proxy.conf", "http://back-end:5252", "http://backend:5252")
    compose = root / "task4/docker-compose.yml"
    edit(compose, "    depends_on:\n      - backend\n", "")
    edit(
        compose,
        '      - "5252:5252"\n',
        '      - "5252:5252"\n    depends_on:\n      frontend:\n'
        "        condition: service_started\n",
    )


def upstream_block(root: Path) -> None:
    """task5 and task6: an upstream block, `location /api/`, proxy headers."""
    for task in ("task5", "task6"):
        (root / task / "proxy/proxy.conf").write_text(
            "upstream api_servers {\n    server back-end:5252;\n}\n\n"
            "server {\n    listen 80;\n    server_name localhost;\n\n"
            "    location /api/ {\n        proxy_pass http://api_servers;\n"
            "        proxy_set_header Host $host;\n"
            "        proxy_set_header X-Real-IP $remote_addr;\n    }\n\n"
            "    location / {\n        proxy_pass http://front-end:9000/;\n    }\n}\n"
        )


def resolver_and_variables(root: Path) -> None:
    """task5: Docker's DNS asked at each request, the address in a variable."""
    (root / "task5/proxy/proxy.conf").write_text(
        "server {\n    listen 80;\n    resolver 127.0.0.11 valid=10s;\n"
        "    set $api http://back-end:5252;\n    set $site http://front-end:9000;\n\n"
        "    location /api {\n        proxy_pass $api;\n    }\n\n"
        "    location / {\n        proxy_pass $site;\n    }\n}\n"
    )


def root_at_server_level(root: Path) -> None:
    """task2: root and index in the server block, try_files, listen on IPv6 too."""
    (root / "task2/front-end/softy-pinko-front-end.conf").write_text(
        "server {\n    listen 9000 default_server;\n    listen [::]:9000 default_server;\n"
        "    root /var/www/html/softy-pinko-front-end/;\n    index index.html index.htm;\n\n"
        "    location / {\n        try_files $uri $uri/ =404;\n    }\n}\n"
    )
    edit(
        root / "task2/front-end/Dockerfile",
        "COPY softy-pinko-front-end /var/www/html/softy-pinko-front-end",
        "COPY ./softy-pinko-front-end/ /var/www/html/softy-pinko-front-end/",
    )


def scaled_in_the_file(root: Path) -> None:
    """task6: the command's file with the scale, and the file's own `deploy: replicas: 2`,
    image tags kept from task5."""
    compose = root / "task6/docker-compose.yml"
    compose.write_text(compose.read_text().replace(":task6", ":task5"))
    edit(
        compose,
        "    image: softy-pinko-back-end:task5\n",
        "    image: softy-pinko-back-end:task5\n    deploy:\n      replicas: 2\n",
    )


def copy_everything(root: Path) -> None:
    """`COPY * .`: two files into the working directory, which BuildKit (every current Docker's
    builder) copies and the legacy builder refuses."""
    edit(root / "task1/Dockerfile", "COPY api.py /app/", "COPY * .")


def release_by_number(root: Path) -> None:
    """task0 on ubuntu:24.04, what latest is today: a warning, never a failure."""
    edit(root / "task0/Dockerfile", "FROM ubuntu:latest", "FROM ubuntu:24.04")


STYLES = {
    "pip3 install --break-system-packages": Style(("task1",), break_system_packages),
    "a venv": Style(("task1",), virtualenv),
    "Ubuntu 24.04's python3.12-venv": Style(("task1",), ubuntu_24_04_names),
    "the flask command, one layer": Style(("task1",), flask_cli_one_layer),
    "a BOM and CRLF from a Windows editor": Style(("task0",), windows_editor),
    "XMLHttpRequest in js/app.js, @cross_origin": Style(("task3",), xhr_in_its_own_file),
    "services named backend and frontend": Style(
        ("task4", "task5"), own_service_names, warns=("task4.container_names",)
    ),
    "an upstream block": Style(("task5", "task6"), upstream_block),
    "a resolver and variables": Style(
        ("task5",), resolver_and_variables, warns=("task5.proxy_routes",)
    ),
    "root in the server block, try_files": Style(("task2",), root_at_server_level),
    "replicas in the file, task5's tags": Style(("task6",), scaled_in_the_file),
    "ubuntu:24.04": Style(("task0",), release_by_number, warns=("task0.based_on_latest_ubuntu",)),
    "COPY * . (BuildKit builds it)": Style(("task1",), copy_everything),
}


def styled(root: Path, style: Style) -> Path:
    plain_solution(root)
    for task in {f"task{n}" for n in range(7)} - set(style.tasks):
        shutil.rmtree(root / task)
    style.change(root)
    return root
