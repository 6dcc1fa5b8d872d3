//! Query cost: every list field any role can reach has a bounded length and a cost that
//! grows with it, so nesting lists cannot multiply work past the complexity limit.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::TestApp;

const INTROSPECT: &str = "{ __schema { queryType { name } mutationType { name } subscriptionType { name }
    types { name kind fields { name description args { name }
        type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

/// The named type under NON_NULL wrappers, and whether a LIST wraps it.
fn unwrap(t: &Value) -> (bool, String) {
    let mut t = t;
    let mut list = false;
    loop {
        match t["kind"].as_str() {
            Some("NON_NULL") => t = &t["ofType"],
            Some("LIST") => {
                list = true;
                t = &t["ofType"];
            }
            _ => return (list, t["name"].as_str().unwrap_or_default().to_owned()),
        }
    }
}

#[tokio::test]
async fn every_reachable_list_field_is_bounded() {
    let app = TestApp::start().await;
    let schema = app.ok(INTROSPECT, json!({})).await["__schema"].clone();
    let types: HashMap<&str, &Value> = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t))
        .collect();
    let roots = ["queryType", "mutationType", "subscriptionType"];
    let mut todo: Vec<String> = roots
        .iter()
        .filter_map(|r| schema[r]["name"].as_str().map(str::to_owned))
        .collect();
    let mut seen = BTreeSet::new();
    let mut unbounded = Vec::new();
    let mut lists = 0;
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) || name.starts_with("__") {
            continue;
        }
        let Some(fields) = types.get(name.as_str()).and_then(|t| t["fields"].as_array()) else {
            continue;
        };
        for f in fields {
            let (list, inner) = unwrap(&f["type"]);
            todo.push(inner);
            if !list {
                continue;
            }
            lists += 1;
            let has_first = f["args"].as_array().unwrap().iter().any(|a| a["name"] == "first");
            let stated = f["description"].as_str().is_some_and(|d| d.contains("at most"));
            if !has_first && !stated {
                unbounded.push(format!("{name}.{}", f["name"].as_str().unwrap()));
            }
        }
    }
    assert!(lists > 10, "the walk found the list fields ({lists})");
    assert!(unbounded.is_empty(), "list fields with no bound: {unbounded:?}");
}

/// The anonymous 200-byte cycle (a season's standings, each standing's user, that user's
/// standings, ...) that used to return S^6 objects is refused before any of it runs.
#[tokio::test]
async fn nested_list_cycles_are_refused_before_they_run() {
    let app = TestApp::start().await;
    app.telegram_user("1", "ann").await;
    app.award("1", 100).await;
    for n in 0..3 {
        app.ok(
            &format!("mutation {{ startSeason(name: \"S{n}\") {{ id }} }}"),
            json!({}),
        )
        .await;
        app.award("1", 10).await;
    }
    let mut query = String::from("xp");
    for _ in 0..6 {
        query = format!("seasonStandings {{ user {{ {query} }} }}");
    }
    let query = format!("{{ seasonStandings(season: 1) {{ user {{ {query} }} }} }}");
    // The fastest of three, so a test machine busy with other tests does not decide it.
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let res = app.gql_as(None, &query, json!({})).await;
        fastest = fastest.min(started.elapsed());
        assert!(res["data"].is_null(), "{res}");
        let message = res["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("omplex"), "{res}");
    }
    assert!(fastest < Duration::from_millis(100), "refused in {fastest:?}");
}
