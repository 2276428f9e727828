/** The restaurant's accept button on an order card: the result re-renders the card through its fragment. */
import { graphql } from 'relay-runtime';

export const AcceptOrderButtonMutation = graphql`
  mutation AcceptOrderButtonMutation($orderId: ID!, $expectedVersion: Int!, $input: AcceptOrderInput!) {
    acceptOrder(orderId: $orderId, expectedVersion: $expectedVersion, input: $input) {
      ... on AcceptOrderSuccess {
        replayed
        order {
          ...OrderCard_order
        }
      }
      ... on VersionConflictError {
        currentVersion
        currentStatus
      }
      ... on Error {
        code
        message
      }
    }
  }
`;
