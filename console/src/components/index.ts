export { QueryState, ErrorAlert } from './QueryState';
export type { QueryStateProps } from './QueryState';
export { Page } from './Page';
export type { PageProps } from './Page';
export { StatCard } from './StatCard';
export { NotAllowed } from './NotAllowed';
export { notifyError, notifySuccess } from './notify';
