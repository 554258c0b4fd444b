//! Clusters for the Kubernetes module tests: the project's fake API server, seeded and inspected
//! with the real kubectl, so the modules under test never check themselves.

use fake_apiserver::{BlockingServer, Config};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One fake cluster (a "site"): the server, its kubeconfig, kubectl against it.
pub struct Site {
    server: BlockingServer,
    _dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Site {
    /// A server with every controller on and no token.
    pub fn start() -> Site {
        Site::with(Config::default())
    }

    /// A server with `config`.
    pub fn with(config: Config) -> Site {
        let server = BlockingServer::start(config).expect("fake API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Site {
            server,
            _dir: dir,
            kubeconfig,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The PEM of the CA that signed a TLS site's certificate (from its kubeconfig).
    pub fn ca_pem(&self) -> String {
        let kubeconfig = self.server.kubeconfig();
        let data = kubeconfig
            .lines()
            .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
            .expect("a TLS site")
            .trim()
            .trim_matches('"');
        let pem = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("base64");
        String::from_utf8(pem).expect("PEM text")
    }

    /// Module options plus this site's kubeconfig.
    pub fn args(&self, options: Value) -> Value {
        let mut args = options;
        args["kubeconfig"] = json!(self.kubeconfig.display().to_string());
        args
    }

    /// Runs kubectl against this site; panics with its stderr if it fails.
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, stdout, stderr) = self.try_kubectl(args, stdin);
        assert!(ok, "kubectl {args:?} failed: {stderr}");
        stdout
    }

    fn try_kubectl(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .expect("stdin written");
        drop(input);
        let out = child.wait_with_output().expect("kubectl finishes");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Creates objects (`kubectl create`), as another tool on the cluster would.
    pub fn create(&self, objects: &[Value]) {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        self.kubectl(&["create", "-f", "-"], Some(&list.to_string()));
    }

    /// `GET path` (`kubectl get --raw`); `None` when the server says 404.
    pub fn get(&self, path: &str) -> Option<Value> {
        let (ok, stdout, stderr) = self.try_kubectl(&["get", "--raw", path], None);
        if ok {
            Some(serde_json::from_str(&stdout).expect("JSON"))
        } else if stderr.contains("NotFound") || stderr.contains("not found") {
            None
        } else {
            panic!("kubectl get --raw {path} failed: {stderr}")
        }
    }

    /// The server's write log: every committed write, in order.
    pub fn history(&self) -> Vec<Value> {
        self.get("/_fake/history").expect("history")["items"]
            .as_array()
            .expect("items")
            .clone()
    }

    /// Polls `check` until it holds (30 s at most): for controllers that act asynchronously.
    pub fn wait_until(&self, what: &str, check: impl Fn(&Site) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !check(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// An NFS PersistentVolume as the primary has it.
pub fn pv(name: &str, path: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolume",
           "metadata": {"name": name, "labels": {"app": "vm"}},
           "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "nfs",
                    "nfs": {"server": "nfs-primary.example.com", "path": path}}})
}

/// A PersistentVolumeClaim, bound by name to `volume` when given.
pub fn pvc(namespace: &str, name: &str, volume: Option<&str>) -> Value {
    let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": name, "namespace": namespace, "labels": {"app": "vm"}},
           "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs",
                    "resources": {"requests": {"storage": "1Gi"}}}});
    if let Some(volume) = volume {
        claim["spec"]["volumeName"] = json!(volume);
    }
    claim
}

/// A VolumeSnapshot of a claim.
pub fn snapshot(namespace: &str, name: &str, claim: &str) -> Value {
    json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"source": {"persistentVolumeClaimName": claim}}})
}

/// A Namespace.
pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

/// A KubeVirt VirtualMachine with this `spec` run field (`runStrategy` or legacy `running`).
pub fn vm(namespace: &str, name: &str, run: Value) -> Value {
    let mut spec = json!({"template": {"spec": {"domain": {"devices": {}}}}});
    for (key, value) in run.as_object().expect("run fields") {
        spec[key] = value.clone();
    }
    json!({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
           "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}
