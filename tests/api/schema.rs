//! `schema.graphql` is generated and contains the whole public contract.

use std::collections::HashMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};

fn repo_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()))
}

#[test]
fn schema_file_is_current() {
    let generated = ttfd::graphql::sdl();
    assert!(
        repo_file("schema.graphql") == generated,
        "schema.graphql is stale: regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

/// type name -> field, `field(argument)`, input value or enum value -> rendered type.
fn shape(doc: &ServiceDocument) -> HashMap<String, HashMap<String, String>> {
    let mut out = HashMap::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let mut members = HashMap::new();
        match &t.node.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    members.insert(f.node.name.node.to_string(), f.node.ty.node.to_string());
                    for a in &f.node.arguments {
                        let name = format!("{}({})", f.node.name.node, a.node.name.node);
                        members.insert(name, a.node.ty.node.to_string());
                    }
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    members.insert(f.node.name.node.to_string(), f.node.ty.node.to_string());
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    members.insert(v.node.value.node.to_string(), String::new());
                }
            }
            _ => {}
        }
        out.insert(t.node.name.node.to_string(), members);
    }
    out
}

/// Contract members that open issues still have to add, with the issue that adds them. The
/// test fails when one of them appears, so the list shrinks as the work lands.
const NOT_YET: &[(&str, &str)] = &[];

#[test]
fn schema_contains_the_api_contract() {
    let contract_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/api-contract.graphql");
    let Ok(contract) = std::fs::read_to_string(&contract_path) else {
        panic!("the API contract is expected at {}", contract_path.display());
    };
    let ours = shape(&parse_schema(ttfd::graphql::sdl()).unwrap());
    let theirs = shape(&parse_schema(contract).unwrap());
    let mut missing = Vec::new();
    for (ty, members) in &theirs {
        let Some(our_members) = ours.get(ty) else {
            missing.push(format!("type {ty}"));
            continue;
        };
        for (name, rendered) in members {
            match our_members.get(name) {
                Some(r) if r == rendered => {}
                Some(r) => missing.push(format!("{ty}.{name}: contract {rendered}, ours {r}")),
                None => missing.push(format!("{ty}.{name}")),
            }
        }
    }
    // What we add must not break a client written against the contract: no new required
    // argument on a contract field.
    for (ty, members) in &theirs {
        let Some(our_members) = ours.get(ty) else { continue };
        for (name, rendered) in our_members {
            let field = name.split('(').next().unwrap_or(name);
            let is_new_argument =
                name.contains('(') && !members.contains_key(name) && members.contains_key(field);
            if is_new_argument && rendered.ends_with('!') {
                missing.push(format!(
                    "{ty}.{name}: a new argument must be optional, ours is {rendered}"
                ));
            }
        }
    }
    missing.sort();
    let owed: Vec<&str> = NOT_YET.iter().map(|(m, _)| *m).collect();
    let unexpected: Vec<&String> = missing.iter().filter(|m| !owed.contains(&m.as_str())).collect();
    assert!(
        unexpected.is_empty(),
        "schema differs from the contract:\n{unexpected:#?}"
    );
    let landed: Vec<&&str> = owed.iter().filter(|m| !missing.iter().any(|x| x == *m)).collect();
    assert!(
        landed.is_empty(),
        "now in the schema, remove from NOT_YET: {landed:?}"
    );
}
