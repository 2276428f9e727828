/** The menu item's name and price on an order line (see OrdersPage.ts). */
import { graphql } from 'relay-runtime';

export const MenuItemLabelMenuItem = graphql`
  fragment MenuItemLabel_menuItem on MenuItem {
    name
    price
  }
`;
