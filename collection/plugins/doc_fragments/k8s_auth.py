# Copyright: ocpdr maintainers
# Apache License 2.0 (see LICENSE in the repository)
"""Connection options shared by every Kubernetes module of ocpdr.dr (k8s_*, vm_*, oadp_restore)."""

from __future__ import annotations


class ModuleDocFragment:
    """The options are named as kubernetes.core names them, with the same environment fallbacks."""

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of a kubeconfig file, or the kubeconfig itself as a mapping.
      - Falls back to the E(K8S_AUTH_KUBECONFIG) environment variable.
      - When neither O(kubeconfig), O(context) nor O(host) is set, the module uses the in-cluster
        ServiceAccount when it runs in a pod, else the default kubeconfig (E(KUBECONFIG) or
        C(~/.kube/config)).
    type: raw
  context:
    description:
      - The kubeconfig context to use instead of its current context.
      - Falls back to the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the API server, for example C(https://api.dr.example.com:6443).
      - Without O(kubeconfig) and O(context), only the connection options are used (the token in
        O(api_key), or anonymous access); with them, it overrides the kubeconfig's server.
      - Falls back to the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token to authenticate with, for example a ServiceAccount token.
      - Never printed; masked in every result and message.
      - Falls back to the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Falls back to the E(K8S_AUTH_VALIDATE_CERTS) or E(K8S_AUTH_VERIFY_SSL) environment
        variable (V(0), V(false) and V(no) mean false).
      - Defaults to the kubeconfig's setting, else true.
    type: bool
  ca_cert:
    description:
      - Path of a CA bundle that signed the API server's certificate.
      - Falls back to the E(K8S_AUTH_CA_CERT) or E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
  request_timeout:
    description:
      - Seconds a single API request may take before the module fails naming the request.
    type: int
    default: 30
notes:
  - These modules are static binaries talking to the API server directly; they need no Python
    Kubernetes client. Set the connection once for all of them with
    C(module_defaults) and the action group C(group/ocpdr.dr.k8s).
"""
