"""The local DR lab: a primary and a DR site on one machine, real parts wherever they exist.

`make lab-up` (``python -m lab up`` with ``tests/`` on the path) starts, under one directory
(``build/lab``, or ``OCPDR_LAB_DIR``):

- two fake Kubernetes API servers (``tests/fake-apiserver``), primary and DR, each with a bearer
  token over HTTPS and its controllers on;
- two "NFS sites": real sshd on 127.0.0.1 (primary) and 127.0.0.2 (DR), each with an export root,
  trusting one replication key, so rsync runs push (primary to DR) and pull (DR from primary);
- a moto S3 server that checks credentials, holding two Velero backups of the watched namespaces
  under the bucket layout OADP uses;

seeds the primary cluster and its exports (``ocpdr-fixtures lab``), and writes an inventory,
kubeconfigs, an ssh config and ``lab.env`` for kubectl, ssh, ansible and S3 clients.
``make lab-status`` says what runs and answers; ``make lab-down`` stops every process by its
recorded id and checks that no port stays open.

Modules: `layout` (paths), `state` (what runs), `processes` (identity, trees, ports), `tools`
(binaries and collection), `cluster` (API client: discovery, load, list), `seed` (objects and
files), `snapshot` (csi-driver-nfs archive), `backups` (Velero backups to S3), `inventory`,
`envfile`, `components` (harness objects for a running lab), `health`, `report`, `up`, `down`.
"""
