import { Container } from '@mantine/core';
import { useRouteError } from 'react-router';
import { ErrorAlert } from '../components/QueryState';

/** A route that failed to render or to load its chunk (e.g. after a deploy): the error and a reload. */
export function RouteError() {
  const error = useRouteError();
  return (
    <Container size="sm" py="xl">
      <ErrorAlert error={error} title="This screen failed" onRetry={() => window.location.reload()} />
    </Container>
  );
}
