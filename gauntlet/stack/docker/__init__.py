"""The Docker backend: the same stack as the embedded default, one container per service.

`backend.up` / `backend.down` mirror gauntlet/stack/supervisor.py; `images` resolves which image
plays which role; `roles` says what each container runs; `engine` talks to Docker (testcontainers
and the Docker SDK); `service` kills and restarts one container for drills. Importing this package
needs neither Docker nor the SDK: both are looked up when a Docker stack is first touched.
"""
