//! Tells the HTTP layer how a request ended: GraphQL-over-HTTP wants 400 for documents that do
//! not parse or validate and 405 for a mutation sent over GET, while execution errors stay 200.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

/// Put into each request's data by the HTTP layer, read back after execution.
#[derive(Default, Debug)]
pub struct RequestPhase {
    /// Set for GET: only queries may run.
    pub read_only: bool,
    pub operation_name: Option<String>,
    pub rejected: AtomicBool,
    pub mutation_refused: AtomicBool,
    /// What metrics and logs call the operation: its name, else its first root field.
    pub label: std::sync::Mutex<Option<String>>,
}

impl RequestPhase {
    pub fn rejected(&self) -> bool {
        self.rejected.load(Ordering::Relaxed)
    }

    pub fn mutation_refused(&self) -> bool {
        self.mutation_refused.load(Ordering::Relaxed)
    }

    pub fn label(&self) -> String {
        self.label
            .lock()
            .ok()
            .and_then(|l| l.clone())
            .unwrap_or_else(|| "unnamed".into())
    }
}

/// Also keeps parsed documents: clients send the same few query strings over and over, and
/// parsing is a measurable share of a small request (docs/operations.md, benchmarks).
#[derive(Default)]
pub struct Phases {
    parsed: Arc<ParseCache>,
}

impl ExtensionFactory for Phases {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Phases {
            parsed: self.parsed.clone(),
        })
    }
}

/// Parsed documents by query text, bounded: when full it starts over, so a client sending
/// endless distinct queries costs memory up to the bound and nothing more.
#[derive(Default)]
struct ParseCache {
    documents: Mutex<HashMap<String, ExecutableDocument>>,
}

impl ParseCache {
    const MAX_DOCUMENTS: usize = 1024;
    const MAX_QUERY_BYTES: usize = 16 * 1024;

    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.documents.lock().ok()?.get(query).cloned()
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > Self::MAX_QUERY_BYTES {
            return;
        }
        if let Ok(mut documents) = self.documents.lock() {
            if documents.len() >= Self::MAX_DOCUMENTS {
                documents.clear();
            }
            documents.insert(query.to_owned(), doc.clone());
        }
    }
}

fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The operation's name, else its first root field's.
fn label(doc: &ExecutableDocument, name: Option<&str>) -> Option<String> {
    if let Some(name) = name {
        return Some(name.to_owned());
    }
    // The parser keeps named operations by name and an anonymous one as `Single`.
    if let DocumentOperations::Multiple(ops) = &doc.operations
        && ops.len() == 1
    {
        return ops.keys().next().map(|n| n.to_string());
    }
    let op = selected_operation(doc, name)?;
    op.selection_set
        .node
        .items
        .iter()
        .find_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.to_string()),
            _ => None,
        })
}

#[async_graphql::async_trait::async_trait]
impl Extension for Phases {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let phase = ctx.data_opt::<Arc<RequestPhase>>();
        let result = match self.parsed.get(query) {
            Some(doc) => Ok(doc),
            None => {
                let parsed = next.run(ctx, query, variables).await;
                if let Ok(doc) = &parsed {
                    self.parsed.put(query, doc);
                }
                parsed
            }
        };
        let Some(phase) = phase else { return result };
        if let (Ok(doc), Ok(mut l)) = (&result, phase.label.lock()) {
            *l = label(doc, phase.operation_name.as_deref());
        }
        match &result {
            Err(_) => phase.rejected.store(true, Ordering::Relaxed),
            Ok(doc) if phase.read_only => {
                let ty = selected_operation(doc, phase.operation_name.as_deref()).map(|op| op.ty);
                if matches!(ty, Some(OperationType::Mutation | OperationType::Subscription)) {
                    phase.mutation_refused.store(true, Ordering::Relaxed);
                    return Err(ServerError::new(
                        "only queries may be sent with GET; use POST",
                        None,
                    ));
                }
            }
            Ok(_) => {}
        }
        result
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if result.is_err()
            && let Some(phase) = ctx.data_opt::<Arc<RequestPhase>>()
        {
            phase.rejected.store(true, Ordering::Relaxed);
        }
        result
    }
}
