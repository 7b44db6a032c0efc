// @ts-check

/**
 * Digests fetched for the tags of a shared listing (issue #16): keyed like the listing (repository
 * and credential scope) and by tag, valid for the listing they were fetched under (its start
 * time). OCIArtifactTag providers naming the same repository the same way fetch each exported tag's
 * digest once per listing, fleet-wide; a new listing (a new interval, or a requested reconcile)
 * fetches them again, so a re-pushed tag's new digest is seen as soon as the tags are listed again.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_listing_digests', table => {
    table
      .string('key', 128)
      .notNullable()
      .comment(
        'the listing key: sha256 of the repository and credential scope',
      );
    table.string('tag', 128).notNullable();
    table
      .text('listed_at')
      .notNullable()
      .comment('ISO start time of the listing the digest was fetched under');
    table.string('digest', 100).notNullable();
    table.primary(['key', 'tag']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_listing_digests');
};
