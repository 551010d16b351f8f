/** The ceiling workflow's activities: return at once. */
export const noopActivities = {
  // eslint-disable-next-line @typescript-eslint/require-await
  async noop(id: string): Promise<string> {
    return id;
  },
};
