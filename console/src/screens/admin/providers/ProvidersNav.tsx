/** The providers area's sub-navigation (tabs as links, so each view has its own URL). */
import { Tabs } from '@mantine/core';
import { useLocation, useNavigate } from 'react-router';

const TABS = [
  { value: '/admin/providers', label: 'Providers' },
  { value: '/admin/rates', label: 'Model rates' },
  { value: '/admin/rates/history', label: 'Rate history' },
  { value: '/admin/health', label: 'Health' },
];

export function ProvidersNav() {
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const current = TABS.find((t) => pathname === t.value || pathname === `${t.value}/`)?.value ?? '/admin/providers';
  return (
    <Tabs value={current} onChange={(v) => v && void navigate(v)}>
      <Tabs.List>
        {TABS.map((t) => (
          <Tabs.Tab key={t.value} value={t.value}>
            {t.label}
          </Tabs.Tab>
        ))}
      </Tabs.List>
    </Tabs>
  );
}
