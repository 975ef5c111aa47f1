import { notifications } from '@mantine/notifications';
import { ApiError } from '../api/http';

/** Shows an error notification: the api's message, with its `code` as the title. */
export function notifyError(error: unknown, title?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : undefined;
  notifications.show({ color: 'red', title: title ?? code ?? 'Error', message, autoClose: 8000 });
}

/** Shows a short success notification. */
export function notifySuccess(message: string, title?: string): void {
  notifications.show({ color: 'teal', title, message, autoClose: 4000 });
}
