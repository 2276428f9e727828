/** One line of an order card (see OrdersPage.ts). */
import { graphql } from 'relay-runtime';

export const OrderItemRowItem = graphql`
  fragment OrderItemRow_item on OrderItem {
    quantity
    lineTotal
    menuItem {
      ...MenuItemLabel_menuItem
    }
  }
`;
