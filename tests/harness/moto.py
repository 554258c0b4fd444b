"""A real moto S3 server for tests, the lab and benchmarks.

`MotoServer` starts `moto_server` from the project's venv on a free loopback port and stops it
again (also as a context manager). Moto checks no credentials by default; with `auth=True` it
runs in its IAM mode (`INITIAL_NO_AUTH_ACTION_COUNT`): the harness creates one IAM user with an
S3 policy while requests are still unauthenticated, and from then on moto verifies every
request's access key and signature, so wrong credentials fail as they would on a real store.
`log` keeps the server's output in a file of the caller's (a temporary one otherwise, deleted
at stop); `detached` starts it in its own session, so it outlives its starter (the lab).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from harness import paths
from harness.ports import free_port, wait_for_port

REGION = "us-east-1"
# The IAM calls made before moto starts checking credentials (see _create_iam_user).
_UNAUTHENTICATED_SETUP_CALLS = 3


class MotoServer:
    """One moto_server process on 127.0.0.1."""

    def __init__(
        self,
        *,
        auth: bool = False,
        port: int | None = None,
        log: Path | None = None,
        detached: bool = False,
    ) -> None:
        self.auth = auth
        self.port = port or free_port()
        self.access_key = "test"
        self.secret_key = "test"
        self.detached = detached
        self._log_path = Path(log) if log else None
        self._proc: subprocess.Popen | None = None
        self._log = None

    @property
    def endpoint(self) -> str:
        """The endpoint URL for S3 clients (path-style addressing)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The moto_server process id while this object runs it."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> "MotoServer":
        env = dict(os.environ)
        if self.auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_UNAUTHENTICATED_SETUP_CALLS)
        if self._log_path:
            self._log = open(self._log_path, "ab")  # noqa: SIM115 - the server writes to it
        else:
            self._log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
        self._proc = subprocess.Popen(
            [str(paths.venv_bin("moto_server")), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=self.detached,
        )
        wait_for_port(self.port, proc=self._proc)
        if self.auth:
            self._create_iam_user()
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            if not self._log_path:
                Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets every bucket and object (moto's `/moto-api/reset`)."""
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).close()

    def client(self, service: str = "s3"):
        """A boto3 client for this server with the server's credentials."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def _create_iam_user(self) -> None:
        iam = self.client("iam")
        iam.create_user(UserName="velero")
        key = iam.create_access_key(UserName="velero")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="velero", PolicyName="s3", PolicyDocument=json.dumps(policy))
        self.access_key = key["AccessKeyId"]
        self.secret_key = key["SecretAccessKey"]

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def put(self, bucket: str, key: str, body: bytes | str) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=body)

    def put_backup(
        self, bucket: str, prefix: str, name: str, *, tarball: bytes | None, metadata: str | None
    ) -> None:
        """Uploads one backup as Velero lays it out: `<prefix>/backups/<name>/...`."""
        root = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        if metadata is not None:
            self.put(bucket, f"{root}backups/{name}/velero-backup.json", metadata)
        if tarball is not None:
            self.put(bucket, f"{root}backups/{name}/{name}.tar.gz", tarball)
