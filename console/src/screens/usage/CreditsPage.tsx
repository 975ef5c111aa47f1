import { Page } from '../../components/Page';

export function CreditsPage() {
  return <Page title="CreditsPage">todo</Page>;
}
