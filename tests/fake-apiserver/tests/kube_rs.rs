//! kube-rs 5 against the fake: typed and dynamic APIs, server-side apply, paged lists, and the
//! runtime watcher through a forced 410 and a cut connection.

use std::collections::BTreeSet;
use std::time::Duration;

use fake_apiserver::Config;
use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolume, PersistentVolumeClaim};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::watcher::{self, Event};
use kube::{Resource as _, ResourceExt as _};
use serde_json::json;

use crate::util::{client, control, eventually, start};

fn pv(name: &str) -> PersistentVolume {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"site": "primary"}},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "nfs": {"server": "nfs-a", "path": "/exports/a"}},
    }))
    .unwrap()
}

#[tokio::test]
async fn typed_persistent_volume_lifecycle() {
    let server = start(Config::default()).await;
    let api: Api<PersistentVolume> = Api::all(client(&server).await);
    let created = api
        .create(&PostParams::default(), &pv("pv-a"))
        .await
        .unwrap();
    assert!(created.uid().is_some() && created.creation_timestamp().is_some());
    let rv1: u64 = created.resource_version().unwrap().parse().unwrap();

    let available = eventually("the PV to become Available", || async {
        let p = api.get("pv-a").await.unwrap();
        (p.status.as_ref()?.phase.as_deref() == Some("Available")).then_some(p)
    })
    .await;
    let mut changed = available.clone();
    changed.labels_mut().insert("tier".into(), "gold".into());
    let replaced = api
        .replace("pv-a", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert!(replaced.resource_version().unwrap().parse::<u64>().unwrap() > rv1);
    assert_eq!(replaced.uid(), created.uid());

    let stale = api
        .replace("pv-a", &PostParams::default(), &changed)
        .await
        .unwrap_err();
    assert!(matches!(stale, kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict"));

    let gold = api
        .list(&ListParams::default().labels("tier=gold"))
        .await
        .unwrap();
    assert_eq!(
        gold.items.iter().map(|p| p.name_any()).collect::<Vec<_>>(),
        ["pv-a"]
    );
    assert!(
        api.list(&ListParams::default().labels("tier=silver"))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    api.delete("pv-a", &DeleteParams::default()).await.unwrap();
    let gone = api.get("pv-a").await.unwrap_err();
    assert!(matches!(gone, kube::Error::Api(s) if s.code == 404));
    server.shutdown().await;
}

#[tokio::test]
async fn dynamic_volume_snapshot_becomes_ready_with_bound_content() {
    let server = start(Config::default()).await;
    let c = client(&server).await;
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(c.clone(), "default");
    let pvc = serde_json::from_value(json!({
        "metadata": {"name": "disk"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }))
    .unwrap();
    pvcs.create(&PostParams::default(), &pvc).await.unwrap();

    let gvk = GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshot");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "volumesnapshots");
    let snaps: Api<DynamicObject> = Api::namespaced_with(c.clone(), "default", &ar);
    let vs = DynamicObject::new("snap", &ar)
        .data(json!({"spec": {"source": {"persistentVolumeClaimName": "disk"}}}));
    snaps.create(&PostParams::default(), &vs).await.unwrap();

    let ready =
        kube::runtime::wait::await_condition(snaps.clone(), "snap", |o: Option<&DynamicObject>| {
            o.is_some_and(|o| o.data["status"]["readyToUse"] == json!(true))
        });
    let ready = tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(ready.data["status"]["restoreSize"], "2Gi");
    let content_name = ready.data["status"]["boundVolumeSnapshotContentName"]
        .as_str()
        .unwrap()
        .to_owned();

    let vsc_ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("snapshot.storage.k8s.io", "v1", "VolumeSnapshotContent"),
        "volumesnapshotcontents",
    );
    let contents: Api<DynamicObject> = Api::all_with(c, &vsc_ar);
    let content = contents.get(&content_name).await.unwrap();
    assert_eq!(
        content.data["spec"]["volumeSnapshotRef"]["uid"],
        json!(ready.uid().unwrap())
    );
    assert_eq!(content.data["status"]["readyToUse"], json!(true));
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_tracks_owners_and_conflicts_like_the_real_api() {
    let server = start(Config::default()).await;
    let api: Api<ConfigMap> = Api::default_namespaced(client(&server).await);
    let apply = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data});

    let created = api
        .patch(
            "cfg",
            &PatchParams::apply("team-a"),
            &Patch::Apply(apply(json!({"a": "1"}))),
        )
        .await
        .unwrap();
    assert_eq!(created.data.unwrap()["a"], "1");
    let managers: Vec<_> = created
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|m| (m.manager.unwrap(), m.operation.unwrap()))
        .collect();
    assert_eq!(managers, [("team-a".to_owned(), "Apply".to_owned())]);

    let err = api
        .patch(
            "cfg",
            &PatchParams::apply("team-b"),
            &Patch::Apply(apply(json!({"a": "2"}))),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err}")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert!(
        status.message.contains("team-a") && status.message.contains(".data.a"),
        "{}",
        status.message
    );

    // The same value from another manager is shared ownership, not a conflict.
    api.patch(
        "cfg",
        &PatchParams::apply("team-b"),
        &Patch::Apply(apply(json!({"a": "1", "b": "x"}))),
    )
    .await
    .unwrap();

    let forced = api
        .patch(
            "cfg",
            &PatchParams::apply("team-c").force(),
            &Patch::Apply(apply(json!({"a": "3"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["a"], "3");

    let dry = api
        .patch(
            "cfg",
            &PatchParams::apply("team-c").dry_run(),
            &Patch::Apply(apply(json!({"a": "3", "d": "1"}))),
        )
        .await
        .unwrap();
    assert!(dry.data.unwrap().contains_key("d"));
    let live = api.get("cfg").await.unwrap();
    assert!(
        !live.data.unwrap().contains_key("d"),
        "dryRun=All must not store"
    );

    // team-a applies without `a` now: it still owns nothing else, so `a` stays (team-c owns it).
    api.patch(
        "cfg",
        &PatchParams::apply("team-a"),
        &Patch::Apply(apply(json!({}))),
    )
    .await
    .unwrap();
    assert_eq!(api.get("cfg").await.unwrap().data.unwrap()["a"], "3");
    server.shutdown().await;
}

#[tokio::test]
async fn paged_list_returns_every_object_once_at_one_resource_version() {
    let server = start(Config::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(client(&server).await, "default");
    for i in 0..25 {
        let cm = serde_json::from_value(
            json!({"metadata": {"name": format!("cm-{i:02}"), "labels": {"page": "yes"}}}),
        )
        .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    let mut lp = ListParams::default().labels("page=yes").limit(10);
    let mut names = Vec::new();
    let mut versions = BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        versions.insert(page.metadata.resource_version.clone().unwrap());
        names.extend(page.items.iter().map(|c| c.name_any()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp.continue_token = Some(token),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        (0..25).map(|i| format!("cm-{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(
        versions.len(),
        1,
        "all pages share the first page's resourceVersion"
    );
    server.shutdown().await;
}

async fn next<S>(stream: &mut S) -> Result<Event<ConfigMap>, watcher::Error>
where
    S: Stream<Item = Result<Event<ConfigMap>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watcher event within 10 s")
        .expect("stream open")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

#[tokio::test]
async fn watcher_relists_after_410_and_resumes_after_a_cut_connection() {
    let server = start(Config {
        bookmark_interval: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let c = client(&server).await;
    let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
    let mut stream = watcher::watcher(api.clone(), watcher::Config::default()).boxed();
    while !matches!(next(&mut stream).await, Ok(Event::InitDone)) {}

    api.create(&PostParams::default(), &cm("a")).await.unwrap();
    match next(&mut stream).await {
        Ok(Event::Apply(o)) => assert_eq!(o.name_any(), "a"),
        other => panic!("expected Apply(a), got {other:?}"),
    }

    api.create(&PostParams::default(), &cm("b")).await.unwrap();
    assert!(matches!(next(&mut stream).await, Ok(Event::Apply(o)) if o.name_any() == "b"));

    // Forced 410: the history the watcher would resume from is gone, and its connection cut.
    control(&c, "/_fake/expire-history", "{}").await;
    control(&c, "/_fake/cut-watches", "{}").await;
    let (mut saw_410, mut saw_init, mut relisted) = (false, false, BTreeSet::new());
    loop {
        match next(&mut stream).await {
            Err(watcher::Error::WatchError(s)) if s.code == 410 => saw_410 = true,
            Err(_) => {}
            Ok(Event::Init) => saw_init = true,
            Ok(Event::InitApply(o)) => {
                relisted.insert(o.name_any());
            }
            Ok(Event::InitDone) => break,
            Ok(other) => panic!("unexpected event before the relist finished: {other:?}"),
        }
    }
    assert!(
        saw_410 && saw_init,
        "410 seen: {saw_410}, relist seen: {saw_init}"
    );
    assert_eq!(relisted, BTreeSet::from(["a".to_owned(), "b".to_owned()]));

    // A cut without expiry: the watcher resumes from its resourceVersion, no relist, no loss.
    control(&c, "/_fake/cut-watches", "{}").await;
    api.create(&PostParams::default(), &cm("c")).await.unwrap();
    loop {
        match next(&mut stream).await {
            Ok(Event::Apply(o)) if o.name_any() == "c" => break,
            Ok(Event::Init | Event::InitApply(_) | Event::InitDone) => {
                panic!("a cut connection must not force a relist")
            }
            _ => {}
        }
    }
    let list = api.list(&ListParams::default()).await.unwrap();
    assert!(
        list.items
            .iter()
            .all(|o| o.meta().resource_version.is_some())
    );
    server.shutdown().await;
}
