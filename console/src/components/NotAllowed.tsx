import { Button, EmptyState } from '@mantine/core';
import { Link } from 'react-router';

/** What a screen shows to a role that may not open it (the api would refuse its calls with 403). */
export function NotAllowed({ what = 'this page' }: { what?: string }) {
  return (
    <EmptyState title="Not allowed" description={`Your role may not open ${what}.`} size="md" py="xl" data-testid="not-allowed">
      <EmptyState.Actions>
        <Button component={Link} to="/usage" variant="light">
          Back to my usage
        </Button>
      </EmptyState.Actions>
    </EmptyState>
  );
}
