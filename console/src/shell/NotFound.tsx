import { Button, EmptyState } from '@mantine/core';
import { Link } from 'react-router';

/** Any console path without a screen. */
export function NotFound() {
  return (
    <EmptyState title="Page not found" description="There is no screen at this address." py="xl">
      <EmptyState.Actions>
        <Button component={Link} to="/usage" variant="light">
          Go to my usage
        </Button>
      </EmptyState.Actions>
    </EmptyState>
  );
}
