import { Badge, createTheme } from '@mantine/core';

/** The console's Mantine theme. */
export const theme = createTheme({
  primaryColor: 'indigo',
  defaultRadius: 'md',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  components: {
    // badges show values (statuses, roles, models): never truncated in narrow table cells, never upper-cased
    Badge: Badge.extend({ defaultProps: { miw: 'max-content', tt: 'none' } }),
  },
});
