import { Page } from '../../components/Page';

export function UsagePage() {
  return <Page title="UsagePage">todo</Page>;
}
