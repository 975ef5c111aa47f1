import { Page } from '../../components/Page';

export function CallLogPage() {
  return <Page title="CallLogPage">todo</Page>;
}
