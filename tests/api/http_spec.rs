//! GraphQL over HTTP: the graphql-http audit, status codes, GraphiQL offline.

use serde_json::json;

use crate::harness::{TestApp, js_dir};

#[tokio::test]
async fn graphql_http_audit_passes_every_must_and_should() {
    let app = TestApp::start().await;
    let dir = js_dir();
    let out = tokio::process::Command::new("node")
        .arg(dir.join("audit.mjs"))
        .arg(&app.url)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "graphql-http audit reported failures:\n{stdout}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[tokio::test]
async fn mutations_over_get_are_refused_with_405_and_change_nothing() {
    let app = TestApp::start().await;
    let query =
        "mutation { upsertUser(input: {platform: TELEGRAM, externalId: \"1\", username: \"a\"}) { id } }";
    let res = app
        .http
        .get(&app.url)
        .query(&[("query", query)])
        .header("accept", "application/graphql-response+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    assert_eq!(app.count("unified_users").await, 0);
    // Queries over GET are fine.
    let res = app
        .http
        .get(&app.url)
        .query(&[("query", "{ ranks { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
}

#[tokio::test]
async fn validation_errors_are_400_only_under_graphql_response_json() {
    let app = TestApp::start().await;
    let body = json!({ "query": "{ nope }" });
    let strict = app
        .http
        .post(&app.url)
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(strict.status(), 400);
    let v: serde_json::Value = strict.json().await.unwrap();
    assert!(v.get("data").is_none() && v["errors"][0]["message"].is_string());
    let legacy = app
        .http
        .post(&app.url)
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    // Execution errors are not request errors: 200 with the error in the body.
    let res = app
        .http
        .post(&app.url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "mutation { awardXp(user: {telegramId: \"9\"}, delta: 5) { xp } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = TestApp::start().await;
    let huge = format!(
        "{{\"query\": \"{{ ranks {{ id }} }}\", \"pad\": \"{}\"}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let res = app
        .http
        .post(&app.url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let res = app
        .http
        .post(&app.url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = app
        .http
        .post(&app.url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn graphiql_is_served_with_local_assets_only() {
    let app = TestApp::start().await;
    let page = app
        .http
        .get(&app.url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("graphiql"), "{html}");
    let sources: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("http") || s.starts_with("//") || s.starts_with("/assets/"))
        .collect();
    assert!(!sources.is_empty());
    for src in sources {
        assert!(
            src.starts_with("/assets/"),
            "GraphiQL must not load {src} from elsewhere"
        );
        let res = app.http.get(format!("{}{src}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{src}");
        assert!(res.bytes().await.unwrap().len() > 100, "{src}");
    }
}
