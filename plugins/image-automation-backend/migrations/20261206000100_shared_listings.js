// @ts-check

/**
 * Tag listings shared across the fleet (issue #16): the last tag list read from one repository with
 * one credential scope (the credential and client certificate named, and the scheme), so that
 * every ImageRepository and OCIArtifactTag provider naming the same repository the same way
 * reuses it instead of listing the registry again within its interval. One row per repository and
 * scope, replaced by each listing.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('image_automation_listings', table => {
    table
      .string('key', 128)
      .primary()
      .comment('sha256 of the canonical repository and the credential scope');
    table
      .text('canonical_image_name')
      .notNullable()
      .comment('e.g. index.docker.io/library/alpine');
    table
      .text('tags')
      .notNullable()
      .comment('JSON array of every tag listed, unfiltered');
    table
      .text('listed_at')
      .notNullable()
      .comment('ISO time the listing started');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('image_automation_listings');
};
