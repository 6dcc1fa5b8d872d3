//! Tells the HTTP layer how a request ended: GraphQL-over-HTTP wants 400 for documents that do
//! not parse or validate and 405 for a mutation sent over GET, while execution errors stay 200.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

/// Put into each request's data by the HTTP layer, read back after execution.
#[derive(Default, Debug)]
pub struct RequestPhase {
    /// Set for GET: only queries may run.
    pub read_only: bool,
    pub operation_name: Option<String>,
    pub rejected: AtomicBool,
    pub mutation_refused: AtomicBool,
}

impl RequestPhase {
    pub fn rejected(&self) -> bool {
        self.rejected.load(Ordering::Relaxed)
    }

    pub fn mutation_refused(&self) -> bool {
        self.mutation_refused.load(Ordering::Relaxed)
    }
}

pub struct Phases;

impl ExtensionFactory for Phases {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Phases)
    }
}

fn selected_operation(doc: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    }
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
        let result = next.run(ctx, query, variables).await;
        let Some(phase) = phase else { return result };
        match &result {
            Err(_) => phase.rejected.store(true, Ordering::Relaxed),
            Ok(doc) if phase.read_only => {
                let ty = selected_operation(doc, phase.operation_name.as_deref());
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
