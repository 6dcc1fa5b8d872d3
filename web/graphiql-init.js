// GraphiQL against this server: queries and mutations over HTTP, subscriptions over websocket.
const url = new URL('/graphql', window.location.href).href;
const wsClient = graphqlWs.createClient({ url: url.replace(/^http/, 'ws') + '/ws', lazy: true });
const fetcher = GraphiQL.createFetcher({ url, wsClient });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
);
