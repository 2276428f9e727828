/** One order on the orders page (see OrdersPage.ts). */
import { graphql } from 'relay-runtime';

export const OrderCardOrder = graphql`
  fragment OrderCard_order on Order {
    databaseId
    status
    version
    totalAmount
    availableActions
    createdAt
    restaurant {
      name
    }
    rider {
      name
    }
    items {
      ...OrderItemRow_item
    }
  }
`;
