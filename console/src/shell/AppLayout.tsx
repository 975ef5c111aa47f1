import { Suspense } from 'react';
import { AppShell, Badge, Burger, Center, Group, Loader, Menu, NavLink, ScrollArea, Text, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { NavLink as RouterNavLink, Outlet, useNavigate } from 'react-router';
import { useSession } from '../auth/session';
import { adminNavFor, userNav, type NavEntry } from './nav';

function NavSection({ title, entries, onNavigate }: { title?: string; entries: NavEntry[]; onNavigate: () => void }) {
  if (entries.length === 0) return null;
  return (
    <nav aria-label={title ?? 'Main'}>
      {title && (
        <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" mt="md" mb={4}>
          {title}
        </Text>
      )}
      {entries.map((e) => (
        <NavLink key={e.path} component={RouterNavLink} to={e.path} label={e.label} onClick={onNavigate} />
      ))}
    </nav>
  );
}

/**
 * The frame of every screen after login: header (burger on phones, user menu), navigation
 * (the user's screens, then the admin entries the role may see) and the screen.
 */
export function AppLayout() {
  const { user, logout } = useSession();
  const navigate = useNavigate();
  const [opened, { toggle, close }] = useDisclosure(false);
  const admin = adminNavFor(user?.role);

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 230, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={800} size="lg">
              Tollgate
            </Text>
          </Group>
          <Menu position="bottom-end" withinPortal>
            <Menu.Target>
              <UnstyledButton aria-label="Account menu" data-testid="account-menu">
                <Group gap="xs" wrap="nowrap">
                  <Text size="sm" visibleFrom="xs" truncate maw={220}>
                    {user?.email}
                  </Text>
                  <Badge variant="light" size="sm">
                    {user?.role}
                  </Badge>
                </Group>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>{user?.email}</Menu.Label>
              <Menu.Item onClick={() => void navigate('/password')}>Change password</Menu.Item>
              <Menu.Item onClick={() => void logout().then(() => navigate('/login'))}>Log out</Menu.Item>
              <Menu.Item color="red" onClick={() => void logout(true).then(() => navigate('/login'))}>
                Log out everywhere
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        <ScrollArea>
          <NavSection entries={userNav} onNavigate={close} />
          <NavSection title="Admin" entries={admin} onNavigate={close} />
        </ScrollArea>
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense
          fallback={
            <Center py="xl">
              <Loader />
            </Center>
          }
        >
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
