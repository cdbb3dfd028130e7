"""French-like product titles and HTML descriptions for the demo data.

Every code has its own vocabulary. A few *text clusters* of codes (``TEXT_CLUSTERS``) also share
a common vocabulary: a product of a clustered code draws most of its words from the shared pool
(``SHARED_WORD_RATE``), so a text model confuses the codes of a cluster — as the real data
confuses 1280/1281/1180 or new/used books — while the other codes stay easy from text.
Most titles of a clustered code also name a sibling code's product after their own
(``PAIRED_TITLE_RATE``): only word order separates those, which a transformer can read and a
bag of words cannot, as on real titles ("Housse pour console" is not a console).
Class-independent noise words and boilerplate sentences keep the text from being trivially
separable. Photos (``images.py``) are designed the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Vocabulary:
    """Words a product title or description is built from.

    ``specs`` are format strings (sizes, counts, volumes) filled with random numbers by
    :func:`fill_spec`.
    """

    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    specs: tuple[str, ...]


#: Codes whose text is hard to tell apart: they share most of their words.
TEXT_CLUSTERS: dict[str, tuple[int, ...]] = {
    "books": (10, 2403, 2705),
    "toys": (1180, 1280, 1281),
    "video_games": (40, 2462, 2905),
    "baby": (1301, 1320),
    "garden": (2582, 2583),
}

#: code -> text cluster name (codes outside every cluster are missing).
TEXT_CLUSTER_OF_CODE: dict[int, str] = {
    code: name for name, codes in TEXT_CLUSTERS.items() for code in codes
}

#: Probability that a word slot of a clustered code is filled from the cluster's shared pool.
SHARED_WORD_RATE = 0.8

#: Probability that a title borrows one word from a random other code (real listings do).
STRAY_WORD_RATE = 0.12

#: Probability that a title of a clustered code names its own product first, then, at the end,
#: the product of a sibling code it goes with ("Poussette Cybex ... pour Body"). Both nouns are
#: code-specific, so only their order tells the code: a bag of words sees a tie, a model that
#: reads word order does not — the way real titles put the product before its accessories.
PAIRED_TITLE_RATE = 0.8

#: Words between a product and the sibling product it goes with (often none).
PAIR_LINKS: tuple[str, ...] = ("pour", "avec", "compatible", "+", "/", "", "", "")

#: Share of descriptions left empty (NaN in the CSV), as in the real data.
EMPTY_DESCRIPTION_RATE = 0.35

CLUSTER_VOCABULARY: dict[str, Vocabulary] = {
    "books": Vocabulary(
        nouns=("Roman", "Livre", "Bande Dessinée", "Manga", "Album", "Recueil", "Guide",
               "Essai", "Biographie", "Récit", "Nouvelles", "Bd"),
        brands=("Gallimard", "Folio", "Le Livre De Poche", "Hachette", "Glénat", "Dargaud",
                "Flammarion", "Casterman", "Seuil", "Actes Sud"),
        adjectives=("illustré", "broché", "relié", "intégral", "inédit", "en français",
                    "grand format", "poche"),
        specs=("Tome {n}", "Volume {n}", "{p} pages", "Édition {y}", "Collection {word}"),
    ),
    "toys": Vocabulary(
        nouns=("Jeu", "Jouet", "Boîte", "Figurines", "Coffret", "Set", "Pièces", "Extension",
               "Jeu De Stratégie", "Kit", "Starter", "Boite De Base"),
        brands=("Hasbro", "Asmodee", "Games Workshop", "Ravensburger", "Mattel", "Lego"),
        adjectives=("pour enfant", "complet", "neuf sous blister", "en plastique", "à monter",
                    "de collection", "en boîte"),
        specs=("dès {age} ans", "{n} pièces", "{n} joueurs", "{age} ans et +", "Lot de {n}"),
    ),
    "video_games": Vocabulary(
        nouns=("Jeu Vidéo", "Jeu", "Game", "Édition Collector", "Goty", "FIFA {y}",
               "Call Of Duty", "Assassin's Creed", "Need For Speed", "The Witcher",
               "Tomb Raider", "Final Fantasy", "Resident Evil", "Sonic", "Mario Kart"),
        brands=("Ubisoft", "Electronic Arts", "Activision", "Square Enix", "Capcom", "Sega",
                "Bandai Namco"),
        adjectives=("complet", "version française", "multijoueur", "action", "aventure",
                    "course", "rpg"),
        specs=("PEGI {pegi}", "Édition {y}", "{n} joueurs"),
    ),
    "baby": Vocabulary(
        nouns=("Bébé", "Naissance", "Nourrisson", "Puériculture", "Maternité", "Enfant",
               "Nouveau-Né"),
        brands=("Bébé Confort", "Chicco", "Babymoov", "Tigex", "Red Castle", "Béaba",
                "Petit Bateau"),
        adjectives=("doux", "hypoallergénique", "mixte", "sans BPA", "pour bébé", "confortable"),
        specs=("0-{m} mois", "{m} mois", "Taille {size}", "Naissance à {m} mois"),
    ),
    "garden": Vocabulary(
        nouns=("Jardin", "Extérieur", "Terrasse", "Plein Air", "Bâche De Protection", "Housse",
               "Ensemble", "Accessoire"),
        brands=("Intex", "Bestway", "Hesperide", "Gre", "Jardiline", "Keter", "Ubbink"),
        adjectives=("résistant aux UV", "imperméable", "en résine tressée", "anti-corrosion",
                    "pour l'été", "gris anthracite", "robuste"),
        specs=("{a} x {b} cm", "Ø {cm} cm", "{a} x {b} x {c} cm"),
    ),
}  # fmt: skip

CODE_VOCABULARY: dict[int, Vocabulary] = {
    10: Vocabulary(
        nouns=("Ouvrage Ancien", "Livre D'occasion", "Manuel Scolaire", "Dictionnaire",
               "Almanach", "Poésie"),
        brands=("Presses De La Cité", "Larousse", "Bordas", "Nathan", "Plon", "Belin"),
        adjectives=("occasion", "ancien", "bon état", "annoté", "jauni", "ex-libris"),
        specs=("Édition De {old_year}", "Imprimé En {old_year}", "1ère Édition"),
    ),
    40: Vocabulary(
        nouns=("Import Japon", "Import Us", "Jeu PS4", "Jeu Xbox One", "Jeu Switch",
               "Jeu PS Vita", "Cartouche"),
        brands=("Nintendo", "Sony", "Microsoft", "Atlus", "Koei Tecmo"),
        adjectives=("ntsc", "region free", "version anglaise", "japanese version",
                    "brand new sealed", "import"),
        specs=("Ntsc-J", "Zone {zone}", "Import {country}"),
    ),
    50: Vocabulary(
        nouns=("Manette", "Câble", "Chargeur", "Support", "Volant", "Casque Gaming", "Housse",
               "Protection Écran", "Adaptateur", "Batterie", "Station De Charge", "Joystick"),
        brands=("Thrustmaster", "Turtle Beach", "PowerA", "Hori", "Subsonic", "Nacon",
                "Steelseries"),
        adjectives=("sans fil", "filaire", "compatible", "ergonomique", "rétroéclairé",
                    "Bluetooth"),
        specs=("{n} m", "USB-C", "{mah} mAh", "Pour PS4 / Switch"),
    ),
    60: Vocabulary(
        nouns=("Console", "Pack Console", "Console Portable", "Console Rétro", "Mini Console",
               "Console De Salon"),
        brands=("PlayStation 4", "Nintendo Switch", "Xbox One S", "Nintendo 3DS",
                "Sega Mega Drive", "Game Boy Advance", "Super Nintendo"),
        adjectives=("reconditionnée", "noire", "blanche", "en boîte", "fonctionnelle",
                    "avec manette"),
        specs=("{gb} Go", "{gb} Gb", "Édition Limitée", "{n} Jeux Inclus"),
    ),
    1140: Vocabulary(
        nouns=("Figurine", "Statuette", "Funko Pop", "Figure", "Buste", "Statue",
               "Figurine Articulée"),
        brands=("Funko", "Bandai", "Tsume", "Hot Toys", "Banpresto", "Good Smile", "Dragon Ball",
                "One Piece", "Marvel", "Star Wars", "Naruto"),
        adjectives=("articulée", "officielle", "peinte à la main", "en pvc", "exclusive",
                    "vinyl"),
        specs=("{cm} cm", "N°{n}", "Échelle 1/{scale}"),
    ),
    1160: Vocabulary(
        nouns=("Carte", "Cartes Pokémon", "Booster", "Display", "Deck", "Carte Magic",
               "Carte Holo", "Reverse", "Carte Yu-Gi-Oh"),
        brands=("Pokémon", "Magic The Gathering", "Yu-Gi-Oh!", "Panini", "Topps"),
        adjectives=("rare", "holographique", "vf", "mint", "near mint", "foil", "ultra rare"),
        specs=("{n}/{m}", "Lot De {n} Cartes", "{n} Cartes", "Série {word}"),
    ),
    1180: Vocabulary(
        nouns=("Warhammer 40k", "Age Of Sigmar", "Space Marines", "Figurines À Peindre",
               "Escouade", "Codex", "Socle", "Peinture Citadel", "Miniatures", "Wargame",
               "Squad", "Tabletop"),
        brands=("Citadel", "Warlord Games", "Wizkids", "Mantic", "Forge World"),
        adjectives=("non peint", "peint", "28mm", "en métal", "sur grappe", "oop"),
        specs=("{n} Figurines", "28 mm", "Échelle {scale} mm"),
    ),
    1280: Vocabulary(
        nouns=("Peluche", "Poupée", "Jouet En Bois", "Puzzle", "Playmobil", "Voiture Miniature",
               "Déguisement", "Pâte À Modeler", "Doudou Géant", "Circuit"),
        brands=("Playmobil", "Vtech", "Barbie", "Fisher-Price", "Janod", "Disney", "Corolle"),
        adjectives=("rose", "musical", "lumineux", "éducatif", "interactif", "géant"),
        specs=("{cm} cm", "{n} pcs", "Hauteur {cm} cm"),
    ),
    1281: Vocabulary(
        nouns=("Jeu De Société", "Jeu De Cartes", "Dés", "Plateau", "Jeu De Plateau",
               "Monopoly", "Cluedo", "Jeu D'ambiance", "Jeu Coopératif", "Scrabble"),
        brands=("Iello", "Days Of Wonder", "Gigamic", "Repos Production", "Blackrock"),
        adjectives=("familial", "coopératif", "d'ambiance", "de réflexion", "en français"),
        specs=("{n}-{m} joueurs", "{mins} min", "{n} à {m} joueurs"),
    ),
    1300: Vocabulary(
        nouns=("Drone", "Voiture Radiocommandée", "Hélicoptère Rc", "Quadricoptère",
               "Bateau Rc", "Maquette", "Avion Rc", "Hélice", "Batterie Lipo", "Télécommande"),
        brands=("DJI", "Syma", "Parrot", "Traxxas", "Revell", "Tamiya", "Hubsan"),
        adjectives=("radiocommandé", "brushless", "rtr", "fpv", "pliable", "tout terrain"),
        specs=("1/{scale}", "2.4 GHz", "{mah} mAh", "Caméra Hd {res}P"),
    ),
    1301: Vocabulary(
        nouns=("Body", "Pyjama", "Chaussons", "Bavoir", "Gigoteuse", "Bonnet", "Chaussettes",
               "Hochet", "Doudou", "Tétine", "Grenouillère"),
        brands=("Absorba", "Sucre D'orge", "Obaïbi", "Kiabi", "Tape À L'oeil"),
        adjectives=("en coton", "brodé", "imprimé", "à pressions", "manches longues", "tricot"),
        specs=("Lot De {n} Bodies", "Pointure {shoe}", "{n} Paires"),
    ),
    1302: Vocabulary(
        nouns=("Trampoline", "Balançoire", "Toboggan", "Portique", "Cabane", "Bac À Sable",
               "Trottinette", "Vélo Enfant", "Ballon", "Filet De Protection", "Piscine À Balles"),
        brands=("Decathlon", "Smoby", "Oxybul", "Trigano", "Little Tikes", "Step2"),
        adjectives=("pliable", "pour enfants", "avec filet", "en bois", "multi-activités",
                    "renforcé"),
        specs=("Ø {cm} cm", "{n} Agrès", "Charge Max {kg} kg"),
    ),
    1320: Vocabulary(
        nouns=("Poussette", "Siège Auto", "Lit Parapluie", "Chaise Haute", "Biberon",
               "Écoute-Bébé", "Porte-Bébé", "Matelas À Langer", "Baignoire", "Chauffe-Biberon"),
        brands=("Maxi-Cosi", "Cybex", "Britax Römer", "Avent", "Dr Brown's", "Graco"),
        adjectives=("isofix", "pliable", "réglable", "compacte", "anti-colique", "inclinable"),
        specs=("Groupe {n}", "{ml} ml", "0-{kg} kg"),
    ),
    1560: Vocabulary(
        nouns=("Table Basse", "Commode", "Armoire", "Étagère", "Chaise", "Canapé", "Buffet",
               "Lit", "Bureau", "Meuble Tv", "Tabouret", "Bibliothèque"),
        brands=("Ikea", "Conforama", "But", "Alinéa", "Vente-Unique", "Habitat"),
        adjectives=("scandinave", "chêne massif", "industriel", "laqué blanc", "en pin",
                    "moderne", "design"),
        specs=("L{a} x P{b} x H{c} cm", "{n} Tiroirs", "{n} Portes"),
    ),
    1920: Vocabulary(
        nouns=("Housse De Couette", "Drap Housse", "Taie D'oreiller", "Parure De Lit", "Coussin",
               "Plaid", "Rideau", "Nappe", "Serviette De Bain", "Couverture", "Bettwäsche"),
        brands=("Becquet", "Linvosges", "Today", "Blanc Des Vosges", "Essix", "Tradilinge"),
        adjectives=("coton", "polyester", "microfibre", "brodé", "percale", "lavable",
                    "imprimé floral"),
        specs=("{a} x {b} cm", "240x220", "Pour {n} Personnes", "{tc} Fils"),
    ),
    1940: Vocabulary(
        nouns=("Café", "Thé", "Chocolat", "Bonbons", "Épices", "Miel", "Capsules", "Biscuits",
               "Huile D'olive", "Confiture", "Tisane", "Infusion"),
        brands=("Nespresso", "Lindt", "Haribo", "Lipton", "Kusmi Tea", "Ducros", "Carte Noire"),
        adjectives=("bio", "équitable", "sans gluten", "gourmand", "arabica", "artisanal",
                    "vegan"),
        specs=("{g} g", "{n} x {g} g", "{ml} ml", "Lot De {n} Boîtes"),
    ),
    2060: Vocabulary(
        nouns=("Sticker Mural", "Cadre Photo", "Miroir", "Vase", "Horloge Murale",
               "Guirlande Lumineuse", "Bougie", "Tableau", "Toile Imprimée", "Lampe", "Poster",
               "Wall Sticker"),
        brands=("Atmosphera", "Maisons Du Monde", "Home Déco", "Zodio"),
        adjectives=("décoratif", "vintage", "bohème", "doré", "autocollant", "led",
                    "shabby chic"),
        specs=("{a} x {b} cm", "{n} Leds", "Hauteur {cm} cm"),
    ),
    2220: Vocabulary(
        nouns=("Collier", "Laisse", "Gamelle", "Litière", "Arbre À Chat", "Niche", "Panier",
               "Croquettes", "Jouet Pour Chien", "Harnais", "Aquarium", "Griffoir"),
        brands=("Trixie", "Zolux", "Royal Canin", "Flamingo", "Kong", "Ferplast"),
        adjectives=("pour chien", "pour chat", "réfléchissant", "anti-traction", "lavable",
                    "pour rongeur"),
        specs=("Taille {size}", "{kg} kg", "{cm} cm De Tour De Cou"),
    ),
    2280: Vocabulary(
        nouns=("Magazine", "Revue", "Journal", "Hebdomadaire", "Mensuel", "Numéro Spécial",
               "Hors-Série", "Quotidien"),
        brands=("Paris Match", "Le Point", "L'express", "Science & Vie", "Télé 7 Jours",
                "Le Monde", "Spirou", "Marie Claire"),
        adjectives=("mensuel", "hebdomadaire", "spécial", "collector", "complet"),
        specs=("N° {n}", "{month} {old_year}", "Numéro {n}"),
    ),
    2403: Vocabulary(
        nouns=("Lot De Livres", "Collection Complète", "Série Complète", "Intégrale",
               "Coffret Livres", "Lot Bd", "Lot Mangas"),
        brands=("Bibliothèque Rose", "Bibliothèque Verte", "Chair De Poule", "J'aime Lire"),
        adjectives=("lot", "série complète", "tomes 1 à {n}", "collection", "en vrac"),
        specs=("Lot De {n} Livres", "Tomes 1 À {n}", "{n} Volumes"),
    ),
    2462: Vocabulary(
        nouns=("Lot De Jeux", "Lot Jeux", "Jeu PS2", "Jeu Wii", "Jeu DS", "Game Boy",
               "GameCube", "Lot Consoles Et Jeux"),
        brands=("Nintendo", "PlayStation 2", "Wii U", "Nintendo Ds"),
        adjectives=("occasion", "sans notice", "boîte abîmée", "en loose", "testé", "en vrac"),
        specs=("Lot De {n} Jeux", "{n} Jeux", "Pal Fr"),
    ),
    2522: Vocabulary(
        nouns=("Cahier", "Carnet", "Agenda", "Stylo", "Classeur", "Feutres", "Trousse",
               "Bloc-Notes", "Ramette Papier", "Crayons De Couleur", "Enveloppes"),
        brands=("Clairefontaine", "Bic", "Oxford", "Exacompta", "Staedtler", "Moleskine",
                "Pilot"),
        adjectives=("spirale", "ligné", "à petits carreaux", "a4", "a5", "effaçable",
                    "recyclé"),
        specs=("{n} Feuilles", "Lot De {n}", "{p} Pages Grands Carreaux", "{g} g/m²"),
    ),
    2582: Vocabulary(
        nouns=("Salon De Jardin", "Table De Jardin", "Chaise Longue", "Transat",
               "Bain De Soleil", "Parasol", "Hamac", "Fauteuil De Jardin", "Banc", "Tonnelle",
               "Gartenmöbel"),
        brands=("Hespéride", "Oviala", "Concept Usine", "Grosfillex"),
        adjectives=("pliant", "en teck", "aluminium", "avec coussins", "empilable",
                    "inclinable"),
        specs=("{n} Places", "{n} Personnes", "Pour {n} Personnes"),
    ),
    2583: Vocabulary(
        nouns=("Piscine", "Piscine Hors Sol", "Pompe De Filtration", "Spa Gonflable",
               "Robot De Piscine", "Échelle De Piscine", "Liner", "Chlore", "Skimmer",
               "Bâche À Bulles", "Schwimmbecken", "Pool", "Filterpumpe"),
        brands=("Zodiac", "Dolphin", "Kokido", "Water Tech", "Aquaking"),
        adjectives=("autoportante", "tubulaire", "gonflable", "à sable", "hors sol",
                    "chauffante"),
        specs=("{m3} m³/h", "{l} Litres", "Ø {cm} cm X {h} cm"),
    ),
    2585: Vocabulary(
        nouns=("Perceuse", "Tondeuse", "Taille-Haie", "Tournevis", "Scie", "Tuyau D'arrosage",
               "Pompe", "Débroussailleuse", "Coffret Outils", "Brouette",
               "Nettoyeur Haute Pression", "Akku-Bohrschrauber"),
        brands=("Bosch", "Makita", "Black+Decker", "Gardena", "Ryobi", "Einhell", "Kärcher"),
        adjectives=("sans fil", "électrique", "thermique", "professionnel", "à batterie",
                    "télescopique"),
        specs=("{w} W", "{v} V", "{n} m", "{mah} mAh"),
    ),
    2905: Vocabulary(
        nouns=("Jeu PC", "Code De Téléchargement", "Clé Steam", "Jeu Téléchargeable",
               "Pc Download", "Key", "Dlc", "Season Pass"),
        brands=("Steam", "Uplay", "Origin", "Epic Games", "Gog", "Battle.net"),
        adjectives=("à télécharger", "dématérialisé", "windows 10", "mac", "code uniquement",
                    "digital"),
        specs=("Windows {v}", "Code Envoyé Par Email", "Clé Cd"),
    ),
    2705: Vocabulary(
        nouns=("Thriller", "Polar", "Roman Policier", "Livre De Cuisine",
               "Développement Personnel", "Roman Jeunesse", "Science-Fiction"),
        brands=("Albin Michel", "Fayard", "Robert Laffont", "Pocket", "J'ai Lu", "Michel Lafon"),
        adjectives=("neuf", "nouveauté", "best-seller", "prix goncourt", "parution récente"),
        specs=("Parution {y}", "Grand Format", "Nouvelle Édition {y}"),
    ),
}  # fmt: skip

#: Class-independent title words: colours, sales talk, English and German filler.
NOISE_WORDS: tuple[str, ...] = (
    "Neuf", "Original", "Pas Cher", "Promo", "Qualité", "Top", "Cadeau", "Nouveau", "2019",
    "2018", "Livraison Gratuite", "Garantie", "France", "Pack", "New", "Neu", "Premium",
    "Haute Qualité", "Mode", "Noir", "Blanc", "Rouge", "Bleu", "Gris", "Rose", "Vert",
    "Hot", "Fashion", "Mini", "Grand", "Petit", "Luxe", "Vintage", "Kit", "Set", "Lot",
)  # fmt: skip

#: Class-independent description sentences (sellers' boilerplate).
BOILERPLATE: tuple[str, ...] = (
    "Livraison rapide et soignée.", "Produit neuf, jamais servi.", "Envoi sous 48h.",
    "N'hésitez pas à me contacter pour toute question.", "Idéal pour offrir.",
    "Photos non contractuelles.", "Très bon état général.", "Satisfait ou remboursé.",
    "Garantie 1 an.", "Expédié depuis la France.", "Brand new, high quality.",
    "Package includes: 1 x item.", "Lieferumfang: 1 Stück.", "Hochwertige Qualität.",
    "Couleur : voir photo.", "Remise en main propre possible.", "Stock limité !",
    "Article d'origine, emballage d'origine.", "Dimensions et poids : voir descriptif.",
)  # fmt: skip

#: Description sentence templates; slots are filled from the product's vocabulary.
SENTENCES: tuple[str, ...] = (
    "{noun} {adj} de la marque {brand}.",
    "Découvrez {noun} {adj} signé {brand}, {spec}.",
    "Caractéristiques :<br />- {spec}<br />- {adj}<br />- Marque : {brand}",
    "Marque : {brand}<br />Référence : {ref}",
    "{noun} {adj}, {spec}. Parfait avec {noun2}.",
    "Vendu avec {noun2} ({adj}).",
    "Ce modèle {adj} est idéal : {spec}.",
    "<b>{noun}</b> - {spec} - {adj}",
)  # fmt: skip

_MONTHS = ("Janvier", "Février", "Mars", "Avril", "Mai", "Juin", "Juillet", "Août",
           "Septembre", "Octobre", "Novembre", "Décembre")  # fmt: skip
_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_SPEC_WORDS = ("Blanche", "Noire", "Classique", "Prestige", "Découverte", "Jeunesse")
_COUNTRIES = ("Japon", "Usa", "Uk", "Asie")

#: Accented characters and the HTML entities some sellers' tools turned them into.
_ENTITIES = {
    "é": "&eacute;", "è": "&egrave;", "à": "&agrave;", "ê": "&ecirc;", "ç": "&ccedil;",
    "'": "&#39;", "&": "&amp;", "°": "&deg;", "ô": "&ocirc;", "û": "&ucirc;",
}  # fmt: skip


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def fill_spec(template: str, rng: np.random.Generator) -> str:
    """Fill the numeric placeholders of a spec or noun template with plausible values."""
    values = {
        "n": int(rng.integers(2, 13)), "m": int(rng.integers(3, 37)),
        "p": int(rng.integers(6, 60)) * 8, "y": int(rng.integers(2012, 2020)),
        "old_year": int(rng.integers(1890, 2000)), "age": int(rng.integers(3, 15)),
        "a": int(rng.integers(4, 40)) * 5, "b": int(rng.integers(4, 40)) * 5,
        "c": int(rng.integers(4, 40)) * 5, "cm": int(rng.integers(5, 120)) * 5,
        "h": int(rng.integers(6, 30)) * 5, "pegi": _pick(rng, ("3", "7", "12", "16", "18")),
        "gb": _pick(rng, ("32", "64", "500", "1000")), "mah": int(rng.integers(5, 60)) * 100,
        "scale": _pick(rng, ("10", "12", "16", "18", "24", "35", "72")),
        "res": _pick(rng, ("720", "1080")), "kg": int(rng.integers(2, 36)),
        "ml": int(rng.integers(1, 20)) * 25, "g": int(rng.integers(1, 40)) * 25,
        "l": int(rng.integers(5, 200)) * 100, "m3": int(rng.integers(2, 12)),
        "w": int(rng.integers(3, 40)) * 50, "v": _pick(rng, ("12", "18", "20", "36")),
        "tc": int(rng.integers(5, 12)) * 10, "mins": int(rng.integers(2, 13)) * 5,
        "shoe": int(rng.integers(16, 25)), "zone": _pick(rng, ("1", "2", "A", "B")),
        "size": _pick(rng, _SIZES), "month": _pick(rng, _MONTHS),
        "word": _pick(rng, _SPEC_WORDS), "country": _pick(rng, _COUNTRIES),
    }  # fmt: skip
    return template.format(**values)


class ProductTextWriter:
    """Writes the title and description of a product of a given code.

    Args:
        shared_word_rate: Probability that a word slot of a clustered code uses the shared pool.
        stray_word_rate: Probability that a title borrows a word from another code.
        empty_description_rate: Probability that the description is empty.
        paired_title_rate: Probability that a clustered code's title ends with a sibling
            code's product (see :data:`PAIRED_TITLE_RATE`).
    """

    def __init__(
        self,
        shared_word_rate: float = SHARED_WORD_RATE,
        stray_word_rate: float = STRAY_WORD_RATE,
        empty_description_rate: float = EMPTY_DESCRIPTION_RATE,
        paired_title_rate: float = PAIRED_TITLE_RATE,
    ) -> None:
        self.shared_word_rate = shared_word_rate
        self.stray_word_rate = stray_word_rate
        self.empty_description_rate = empty_description_rate
        self.paired_title_rate = paired_title_rate
        self._codes = tuple(sorted(CODE_VOCABULARY))

    def _word(self, code: int, slot: str, rng: np.random.Generator, shared: bool = True) -> str:
        """One word for ``slot`` (nouns/brands/adjectives/specs), shared pool or the code's;
        ``shared=False``: always the code's own."""
        vocabulary = CODE_VOCABULARY[code]
        cluster = TEXT_CLUSTER_OF_CODE.get(code)
        if shared and cluster is not None and rng.random() < self.shared_word_rate:
            vocabulary = CLUSTER_VOCABULARY[cluster]
        return fill_spec(_pick(rng, getattr(vocabulary, slot)), rng)

    def _sibling_noun(self, code: int, rng: np.random.Generator) -> str | None:
        """A noun of another code of ``code``'s text cluster, for a paired title, or ``None``."""
        cluster = TEXT_CLUSTER_OF_CODE.get(code)
        if cluster is None or rng.random() >= self.paired_title_rate:
            return None
        siblings = [other for other in TEXT_CLUSTERS[cluster] if other != code]
        sibling = siblings[int(rng.integers(len(siblings)))]
        return self._word(sibling, "nouns", rng, shared=False)

    def title(self, code: int, rng: np.random.Generator) -> str:
        """A marketplace-style title: noun, brand, adjective, size and noise in varying order;
        a paired title (clustered codes) names its own product first and a sibling's last."""
        sibling_noun = self._sibling_noun(code, rng)
        noun = self._word(code, "nouns", rng, shared=sibling_noun is None)
        parts = [noun]
        if rng.random() < 0.7:
            parts.insert(int(rng.integers(2)), self._word(code, "brands", rng))
        if rng.random() < 0.6:
            parts.append(self._word(code, "adjectives", rng))
        if rng.random() < 0.6:
            spec = self._word(code, "specs", rng)
            parts.append(spec if rng.random() < 0.6 else f"- {spec}")
        for _ in range(int(rng.integers(0, 3))):
            parts.insert(int(rng.integers(len(parts) + 1)), _pick(rng, NOISE_WORDS))
        if rng.random() < self.stray_word_rate:
            other = self._codes[int(rng.integers(len(self._codes)))]
            parts.append(_pick(rng, CODE_VOCABULARY[other].nouns))
        if sibling_noun is not None:
            parts.extend(word for word in (_pick(rng, PAIR_LINKS), sibling_noun) if word)
        title = " ".join(parts)
        style = rng.random()
        if style < 0.45:
            title = " ".join(w[:1].upper() + w[1:] for w in title.split(" "))
        elif style < 0.55:
            title = title.upper()
        elif style < 0.6:
            title = title.lower()
        return title

    def description(self, code: int, rng: np.random.Generator) -> str | None:
        """An HTML-ish description, or ``None`` (empty) for about a third of the products."""
        if rng.random() < self.empty_description_rate:
            return None
        sentences = []
        for _ in range(int(rng.integers(1, 5))):
            if rng.random() < 0.3:
                sentences.append(_pick(rng, BOILERPLATE))
                continue
            template = _pick(rng, SENTENCES)
            sentence = template.format(
                noun=self._word(code, "nouns", rng),
                noun2=self._word(code, "nouns", rng).lower(),
                brand=self._word(code, "brands", rng),
                adj=self._word(code, "adjectives", rng),
                spec=self._word(code, "specs", rng),
                ref=f"{_pick(rng, ('REF', 'SKU', 'EAN'))}-{int(rng.integers(10**5, 10**7))}",
            )
            sentences.append(sentence[:1].upper() + sentence[1:])
        return _htmlify(sentences, rng)


def _htmlify(sentences: list[str], rng: np.random.Generator) -> str:
    """Join sentences with the HTML quirks of real listings: tags, entities, unclosed ``<p>``."""
    style = rng.random()
    if style < 0.3:
        text = " ".join(sentences)
    elif style < 0.55:
        text = "<br />".join(sentences)
    elif style < 0.8:
        text = "".join(f"<p>{s}</p>" for s in sentences)
    elif style < 0.9:
        text = "<p>" + "<br>".join(sentences)  # unclosed paragraph, as some sellers write
    else:
        text = "<div>" + " ".join(sentences) + "</div><br /><br />"
    if rng.random() < 0.35:
        # Escape only outside tags: replace in the text between ``>`` and ``<``.
        pieces = text.split("<")
        escaped = [_escape(pieces[0])]
        for piece in pieces[1:]:
            tag, closing, rest = piece.partition(">")
            escaped.append(f"<{tag}>{_escape(rest)}" if closing else f"<{_escape(piece)}")
        text = "".join(escaped)
    return text


def _escape(text: str) -> str:
    out = text.replace("&", _ENTITIES["&"])
    for char, entity in _ENTITIES.items():
        if char != "&":
            out = out.replace(char, entity)
    return out
