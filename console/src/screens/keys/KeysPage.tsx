import { Page } from '../../components/Page';

export function KeysPage() {
  return <Page title="KeysPage">todo</Page>;
}
