//! What a request's operation asks at its root, read from the document before it runs: the
//! websocket groups (`ws/shared.rs`) and the response cache (`cache.rs`) decide with it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType, Selection};
use async_graphql_value::{ConstValue, Name, Value as GqlValue};
use serde_json::{Map, Value};
use uuid::Uuid;

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
    /// The variables the operation declares.
    pub variables: Vec<String>,
}

impl Root {
    /// The key of `params` (read as this root) asked by `caller`.
    pub fn key(&self, params: &Params, caller: Option<Uuid>) -> RequestKey {
        // Only the declared variables: execution ignores the others, so keys must too.
        let declared: std::collections::BTreeMap<&str, &Value> = self
            .variables
            .iter()
            .filter_map(|name| params.variables.get(name).map(|v| (name.as_str(), v)))
            .collect();
        RequestKey {
            query: params.query.clone(),
            operation_name: params.operation_name.clone(),
            variables: serde_json::to_string(&declared).unwrap_or_default(),
            extensions: serde_json::to_string(&params.extensions).unwrap_or_default(),
            caller,
        }
    }
}

/// Everything that decides a request's results: the document, the operation name, the
/// declared variables and the extensions (as canonical JSON), and the caller (one API key, or
/// the public). The response cache and the subscription groups key by it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RequestKey {
    query: String,
    operation_name: Option<String>,
    variables: String,
    extensions: String,
    caller: Option<Uuid>,
}

/// The operation's type, name and root fields; None when the document does not parse, names
/// no single operation, or has anything but plain fields at its root (fragments there are
/// left to run as they are).
pub fn root(params: &Params) -> Option<Root> {
    let shape = shape(&params.query, params.operation_name.as_deref())?;
    let fields = shape
        .fields
        .iter()
        .map(|(name, arguments)| RootField {
            name: name.clone(),
            given: arguments
                .iter()
                .filter(|(_, written)| !written.is_null(&params.variables))
                .map(|(argument, _)| argument.clone())
                .collect(),
        })
        .collect();
    Some(Root {
        ty: shape.ty,
        name: shape.name.clone(),
        fields,
        variables: shape.variables.clone(),
    })
}

/// An argument as the document writes it.
#[derive(Debug)]
enum Written {
    Null,
    /// A variable, and whether its default (when not given) is null.
    Variable(String, bool),
    Value,
}

impl Written {
    fn is_null(&self, variables: &Map<String, Value>) -> bool {
        match self {
            Written::Null => true,
            Written::Variable(name, null_default) => {
                variables.get(name).map_or(*null_default, Value::is_null)
            }
            Written::Value => false,
        }
    }
}

/// What `root` needs of a document, the same for every request sending it.
#[derive(Debug)]
struct Shape {
    ty: OperationType,
    name: Option<String>,
    fields: Vec<(String, Vec<(String, Written)>)>,
    variables: Vec<String>,
}

/// Shapes by document and operation name, bounded like the schema's parse cache: clients send
/// the same few documents, and parsing is a measurable share of a small request.
type Shapes = HashMap<(String, Option<String>), Option<Arc<Shape>>>;
static SHAPES: LazyLock<Mutex<Shapes>> = LazyLock::new(Mutex::default);
const MAX_SHAPES: usize = 1024;
const MAX_QUERY_BYTES: usize = 16 * 1024;

fn shape(query: &str, operation_name: Option<&str>) -> Option<Arc<Shape>> {
    let key = (query.to_owned(), operation_name.map(str::to_owned));
    if let Some(known) = SHAPES.lock().expect("document shapes").get(&key) {
        return known.clone();
    }
    let shape = read(query, operation_name).map(Arc::new);
    if query.len() <= MAX_QUERY_BYTES {
        let mut shapes = SHAPES.lock().expect("document shapes");
        if shapes.len() >= MAX_SHAPES {
            shapes.clear();
        }
        shapes.insert(key, shape.clone());
    }
    shape
}

fn read(query: &str, operation_name: Option<&str>) -> Option<Shape> {
    let document = async_graphql::parser::parse_query(query).ok()?;
    let (name, operation) = chosen(&document, operation_name)?;
    let written = |value: &GqlValue| match value {
        GqlValue::Null => Written::Null,
        GqlValue::Variable(name) => {
            let null_default = operation
                .variable_definitions
                .iter()
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref())
                .is_none_or(|default| default.node == ConstValue::Null);
            Written::Variable(name.to_string(), null_default)
        }
        _ => Written::Value,
    };
    let fields = operation
        .selection_set
        .node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => Some((
                field.node.name.node.to_string(),
                field
                    .node
                    .arguments
                    .iter()
                    .map(|(name, value)| (name.node.to_string(), written(&value.node)))
                    .collect(),
            )),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Shape {
        ty: operation.ty,
        name: name.map(|n| n.to_string()),
        fields,
        variables: operation
            .variable_definitions
            .iter()
            .map(|d| d.node.name.node.to_string())
            .collect(),
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
            ..
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
