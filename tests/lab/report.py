"""What `up` and `status` print: where each part of the lab is and how to point kubectl, ssh,
ansible and S3 clients at it. Paths are shown relative to the working directory when shorter;
no token or key is printed (they are in the lab's files)."""

from __future__ import annotations

import os
from pathlib import Path

from lab.layout import Layout
from lab.state import LabState


def rel(path: str | Path) -> str:
    path = str(path)
    relative = os.path.relpath(path)
    return relative if len(relative) < len(path) else path


def how_to(layout: Layout, state: LabState) -> str:
    p, d = state.clusters["primary"], state.clusters["dr"]
    ps, ds = state.sites["primary"], state.sites["dr"]
    env = rel(layout.env_file)
    backups = ", ".join(f"{b['name']} ({b['phase']})" for b in state.backups)
    lines = [
        f"Point a shell at it:   . {env}",
        "",
        "Clusters (fake Kubernetes API servers; bearer token over HTTPS):",
        f"  primary  {p['url']}   kubectl --context primary get vm,pvc -A",
        f"  dr       {d['url']}   kubectl --context dr get ns",
        f"    kubeconfigs: {rel(p['kubeconfig'])}, {rel(d['kubeconfig'])} (KUBECONFIG in lab.env has both)",
        "NFS sites (sshd; the export roots are real directories):",
        f"  primary_nfs_server  {ps['host']}:{ps['port']}  export {rel(ps['export'])}",
        f"  dr_nfs_server       {ds['host']}:{ds['port']}  export {rel(ds['export'])}",
        f"    ssh -F {rel(layout.ssh_config)} primary_nfs_server   (or dr_nfs_server)",
        f"S3 (moto, credentials checked): {state.s3['endpoint']}  "
        f"s3://{state.s3['bucket']}/{state.s3['prefix']}/backups/",
        f"    backups: {backups}",
        "    boto3 or the aws CLI with lab.env's AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY",
        "Ansible (ocpdr.dr collection from build/collections; lab.env sets ANSIBLE_CONFIG):",
        f"    ansible nfs -i {rel(layout.hosts)} -m ansible.builtin.ping",
        f"    ansible-playbook -i {rel(layout.hosts)} PLAYBOOK   " f"(variables: {rel(layout.group_vars)})",
        "",
        "make lab-status   make lab-down",
    ]
    return "\n".join(lines)
