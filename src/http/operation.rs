//! What a request's operation asks at its root, read from the document before it runs: the
//! websocket groups (`ws/shared.rs`) and the response cache (`cache.rs`) decide with it.

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType, Selection};
use async_graphql_value::{ConstValue, Name, Value as GqlValue};
use serde_json::{Map, Value};

use super::request::Params;

/// A root field: its name and the arguments it is given a value other than null (written so,
/// through a variable, or by a variable's default).
#[derive(Debug, PartialEq, Eq)]
pub struct RootField {
    pub name: String,
    pub given: Vec<String>,
}

impl RootField {
    pub fn is_given(&self, argument: &str) -> bool {
        self.given.iter().any(|a| a == argument)
    }
}

/// An operation as read before it runs.
#[derive(Debug)]
pub struct Root {
    pub ty: OperationType,
    /// Its name in the document, if it has one.
    pub name: Option<String>,
    pub fields: Vec<RootField>,
}

/// The operation's type, name and root fields; None when the document does not parse, names
/// no single operation, or has anything but plain fields at its root (fragments there are
/// left to run as they are).
pub fn root(params: &Params) -> Option<Root> {
    let document = async_graphql::parser::parse_query(&params.query).ok()?;
    let (name, operation) = chosen(&document, params.operation_name.as_deref())?;
    let fields = operation
        .selection_set
        .node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => Some(RootField {
                name: field.node.name.node.to_string(),
                given: field
                    .node
                    .arguments
                    .iter()
                    .filter(|(_, value)| !is_null(&value.node, operation, &params.variables))
                    .map(|(name, _)| name.node.to_string())
                    .collect(),
            }),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Root {
        ty: operation.ty,
        name: name.map(|n| n.to_string()),
        fields,
    })
}

fn chosen<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a Name>, &'a OperationDefinition)> {
    let operation = match name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => {
            let mut all = document.operations.iter();
            match (all.next(), all.next()) {
                (Some(op), None) => Some(op),
                _ => None,
            }
        }
    };
    operation.map(|(name, op)| (name, &op.node))
}

fn is_null(value: &GqlValue, operation: &OperationDefinition, variables: &Map<String, Value>) -> bool {
    match value {
        GqlValue::Null => true,
        GqlValue::Variable(name) => match variables.get(name.as_str()) {
            Some(given) => given.is_null(),
            None => operation
                .variable_definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref())
                .is_none_or(|default| default.node == ConstValue::Null),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(query: &str, operation_name: Option<&str>, variables: Value) -> Option<Root> {
        let Value::Object(variables) = variables else {
            panic!("variables are an object");
        };
        root(&Params {
            query: query.into(),
            operation_name: operation_name.map(Into::into),
            variables,
            extensions: Map::new(),
        })
    }

    fn given(query: &str, variables: Value) -> Vec<String> {
        let root = fields(query, None, variables).expect("plain root fields");
        root.fields.into_iter().flat_map(|f| f.given).collect()
    }

    #[test]
    fn null_arguments_are_not_given() {
        let q = "subscription($a: String) { events(after: $a) { id } }";
        assert!(given(q, json!({"a": null})).is_empty());
        assert!(given(q, json!({})).is_empty());
        assert_eq!(given(q, json!({"a": "x"})), vec!["after"]);
        assert!(given("subscription { events(after: null) { id } }", json!({})).is_empty());
        let defaulted = "subscription($a: String = \"x\") { events(after: $a) { id } }";
        assert_eq!(
            given(defaulted, json!({})),
            vec!["after"],
            "the default is a value"
        );
        assert!(given(defaulted, json!({"a": null})).is_empty());
    }

    #[test]
    fn the_operation_and_its_plain_root_fields() {
        let query = "{ leaderboard(first: 5) { nodes { xp } } ranks { id } }";
        let Root {
            ty,
            name,
            fields: root,
        } = fields(query, None, json!({})).unwrap();
        assert_eq!((ty, name), (OperationType::Query, None));
        let names: Vec<&str> = root.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["leaderboard", "ranks"]);
        assert!(root[0].is_given("first"));
        let named = fields("query Top { leaderboard { nodes { xp } } }", None, json!({})).unwrap();
        assert_eq!(named.name.as_deref(), Some("Top"));
        assert!(fields("{ ...F } fragment F on Query { ranks { id } }", None, json!({})).is_none());
        assert!(fields("{", None, json!({})).is_none());
        let two = "query A { ranks { id } } subscription B { events { id } }";
        assert!(
            fields(two, None, json!({})).is_none(),
            "two operations and no name"
        );
        assert_eq!(
            fields(two, Some("B"), json!({})).unwrap().ty,
            OperationType::Subscription
        );
        assert!(fields(two, Some("C"), json!({})).is_none());
    }
}
