/**
 * A Relay page as a client app writes it, for test/graphql/relay-client.test.ts: the page's query spreads a
 * paginated fragment, whose orders render with OrderCard → OrderItemRow → MenuItemLabel (6 fields deep, 4 spreads).
 * relay-compiler compiles these files in the test; nothing imports them.
 */
import { graphql } from 'relay-runtime';

export const OrdersPageQuery = graphql`
  query OrdersPageQuery($first: Int!, $status: [OrderStatus!]) {
    viewer {
      role
      databaseId
    }
    ...OrdersPage_orders @arguments(first: $first, status: $status)
  }
`;

export const OrdersPageOrders = graphql`
  fragment OrdersPage_orders on Query
  @argumentDefinitions(first: { type: "Int!" }, after: { type: "String" }, status: { type: "[OrderStatus!]" })
  @refetchable(queryName: "OrdersPagePaginationQuery") {
    orders(first: $first, after: $after, status: $status) @connection(key: "OrdersPage_orders") {
      edges {
        node {
          id
          ...OrderCard_order
        }
      }
    }
  }
`;
